/**
 * The node records its own confirmed periods above their project's baseline on a real
 * CarbonCredits (credits/shortfalls.ts), on a Hardhat node: one facility's project has a baseline
 * its readings exceed, the other's one they stay under. Only the first is recorded, once, and not
 * again after a restart; the project then owes the period's excess on chain.
 */
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import {
  encodeFunctionData,
  keccak256,
  parseTransaction,
  toHex,
  type Abi,
  type Hex,
  type TransactionSerializableEIP1559,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { pino, type Logger } from "pino";
import { idToBytes32, METHODOLOGY_ID, readingDigestHex } from "../../sdk/src/index.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { carbonCreditsAbi } from "../src/chain/abi.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import {
  BASELINES_META_KEY,
  CURSOR_META_KEY,
  LEGACY_CURSOR_META_KEY,
  PENDING_META_KEY,
  RECHECK_META_KEY,
} from "../src/credits/shortfalls.ts";
import {
  artifact,
  HardhatNode,
  chainTestNode,
  deploy,
  ORACLE_KEY,
  readingPoster,
  type Deployment,
  waitForConfirmed,
} from "./chain-harness.ts";
import { electricity, makeDevice, testNode } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/** Hardhat's fourth default account: the projects' proponent (a verifier may not be one). */
const PROPONENT = privateKeyToAccount("0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6");

describe(
  "recording the node's periods above their baseline (CarbonCredits.recordShortfall)",
  { timeout: 300_000 },
  () => {
    const tmp = tempDir();
    let hh: HardhatNode;
    let dep: Deployment;
    let credits: Hex;
    let node: Awaited<ReturnType<typeof testNode>>;
    const above = makeDevice("kangaita-meter-1", "ktda-kangaita"); // grid electricity: fossil CO2e
    const below = makeDevice("gitugi-meter-1", "ktda-gitugi");
    const start = () =>
      chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits },
        shortfalls: { everyMs: 200 },
        parts: { calculator: calculator() },
      }).then((n) => {
        node = n;
      });
    /** both facilities Kenyan: grid electricity has a factor */
    const calculator = () =>
      new SdkCalculator({
        facilities: Object.fromEntries(
          ["ktda-kangaita", "ktda-gitugi", "ktda-kagwe", "ktda-ikumbi", "ktda-kapkoros"].map((f) => [
            f,
            { country: "KEN" },
          ]),
        ),
      });
    /** The arguments of every `eventName` CarbonCredits emitted. */
    const creditsEvents = async <T>(eventName: "ShortfallRecorded" | "CorrectionRecorded") =>
      (
        await dep.publicClient.getContractEvents({ address: credits, abi: carbonCreditsAbi, eventName, fromBlock: 0n })
      ).map((l) => l.args as T);
    const shortfalls = () =>
      creditsEvents<{ attestationId: Hex; projectId: number; excessGrams: bigint }>("ShortfallRecorded");

    before(async () => {
      hh = await HardhatNode.start();
      dep = await deploy(hh.url);
      const cc = artifact("credits/CarbonCredits.sol/CarbonCredits.json");
      // challenge window 0: a confirmed period can be settled at once
      const hash = await dep.wallet.deployContract({
        abi: cc.abi,
        bytecode: cc.bytecode,
        args: [dep.attestationRegistry, dep.admin.address, 0n],
        account: dep.admin,
        chain: dep.wallet.chain,
      });
      credits = (await dep.publicClient.waitForTransactionReceipt({ hash })).contractAddress!;
      await creditsWrite("grantRole", [keccak256(toHex("VERIFIER_ROLE")), dep.admin.address]);
      await registerProject("ktda-kangaita", 1n); // 1 g a day: every period is above it
      await registerProject("ktda-gitugi", 10n ** 15n); // 1,000 kt a day: none is
      await dep.registerDevice(above.deviceId, above.facilityId, above.publicKey, 1);
      await dep.registerDevice(below.deviceId, below.facilityId, below.publicKey, 1);
      await start();
    });
    after(async () => {
      await node?.close();
      await hh?.stop();
      tmp.cleanup();
    });

    test("a confirmed period above its baseline is recorded once; one under it never", async () => {
      const postAbove = readingPoster(node, above);
      const postBelow = readingPoster(node, below);
      const a = electricity(above);
      const b = electricity(below);
      assert.equal((await postAbove(a)).status, 201);
      assert.equal((await postBelow(b)).status, 201);
      const va = await waitForConfirmed(node.httpUrl!, readingDigestHex(a.reading), 60_000);
      const vb = await waitForConfirmed(node.httpUrl!, readingDigestHex(b.reading), 60_000);
      const recorded = await waitFor(
        async () => ((await shortfalls()).some((s) => s.attestationId === va.attestationId) ? shortfalls() : null),
        { timeoutMs: 30_000, what: `ShortfallRecorded for ${va.attestationId}` },
      );
      assert.equal(recorded.length, 1);
      const fossil = BigInt(va.batch.fossilCo2eGrams);
      assert.ok(fossil > 0n, "grid electricity emits fossil CO2e");
      // a batch of a few seconds against 1 g a day: the baseline rounds down to 0 g
      assert.deepEqual(recorded[0], { attestationId: va.attestationId, projectId: 1, excessGrams: fossil });
      const p1 = (await dep.publicClient.readContract({
        address: credits,
        abi: carbonCreditsAbi,
        functionName: "getProject",
        args: [1],
      })) as { correctionDebtGrams: bigint };
      assert.equal(p1.correctionDebtGrams, fossil, "the project owes the period's excess");
      // its next pass sees the transaction mined and clears it
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", { what: "the pending transaction settled" });
      const metrics = await (await fetch(`${node.httpUrl}/metrics`)).text();
      assert.match(metrics, /^carbonproof_oracle_shortfalls_recorded_total 1$/m);
      // both batches settled: behind the cursor, not listed again (after a restart either)
      await waitFor(() => behindCursor(va.batch.id) && behindCursor(vb.batch.id), {
        what: "the cursor past both batches",
      });
      // what an operator sees of it: caught up, nothing to ask again, nothing in flight
      const status = await waitFor(
        async () => {
          const body = (await (await fetch(`${node.httpUrl}/v1/status`)).json()) as {
            shortfalls: {
              caughtUp: boolean;
              recheck: number;
              pending: unknown;
              lastError: unknown;
              lastPassAtMs: number;
            };
          };
          return body.shortfalls.caughtUp && body.shortfalls.pending === null ? body.shortfalls : null;
        },
        { what: "/v1/status: the recorder caught up" },
      );
      assert.deepEqual(
        { ...status, lastPassAtMs: typeof status.lastPassAtMs },
        {
          caughtUp: true,
          recheck: 0,
          rescans: 0,
          pending: null,
          lastError: null,
          lastPassAtMs: "number",
        },
      );
      const gauges = await (await fetch(`${node.httpUrl}/metrics`)).text();
      assert.match(gauges, /^carbonproof_oracle_shortfalls_recheck 0$/m);
      assert.match(gauges, /^carbonproof_oracle_shortfalls_behind 0$/m);
      // the period under its baseline: issuable, not a shortfall; the node never sends for it
      await assert.rejects(
        dep.publicClient.simulateContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "recordShortfall",
          args: [2, headerOf(vb.attestationId)],
          account: dep.admin,
        }),
        /CarbonCreditsNoShortfall/,
      );
    });

    test("after a restart nothing is sent again, and batches keep their nonces", async () => {
      const before = (await shortfalls()).length;
      const nonceBefore = await dep.publicClient.getTransactionCount({ address: dep.oracle.address });
      await node.close();
      await start();
      // several passes of the recorder (every 200 ms here; it runs once at start)
      await new Promise((r) => setTimeout(r, 1_500));
      assert.equal((await shortfalls()).length, before);
      // the next batch of the facility is attested after the restart, and its period recorded too
      const post = readingPoster(node, above);
      const c = electricity(above);
      assert.equal((await post(c)).status, 201);
      const vc = await waitForConfirmed(node.httpUrl!, readingDigestHex(c.reading), 60_000);
      await waitFor(async () => (await shortfalls()).some((s) => s.attestationId === vc.attestationId) || null, {
        timeoutMs: 30_000,
        what: `ShortfallRecorded for ${vc.attestationId}`,
      });
      assert.equal((await shortfalls()).length, before + 1);
      const nonceAfter = await dep.publicClient.getTransactionCount({ address: dep.oracle.address });
      assert.equal(nonceAfter, nonceBefore + 2, "one submit and one recordShortfall, nothing else");
    });

    test("a recordShortfall persisted but never broadcast (a crash between the two) is sent after the restart, once", async () => {
      // the recorder off while the next period is attested, as if the node died right after persisting
      await startQuiet();
      const vd = await attest(above);
      const count = (await shortfalls()).length;
      // what #send persists before broadcasting: the signed call at the account's next nonce
      const nonce = await dep.publicClient.getTransactionCount({ address: dep.oracle.address, blockTag: "pending" });
      const fees = await dep.publicClient.estimateFeesPerGas();
      const raw = await dep.oracle.signTransaction({
        type: "eip1559",
        chainId: 31337,
        to: credits,
        data: encodeFunctionData({
          abi: carbonCreditsAbi,
          functionName: "recordShortfall",
          args: [1, headerOf(vd.attestationId)],
        }),
        nonce,
        gas: 500_000n,
        maxFeePerGas: fees.maxFeePerGas,
        maxPriorityFeePerGas: fees.maxPriorityFeePerGas,
      });
      node.storage.setMeta(
        PENDING_META_KEY,
        JSON.stringify({
          from: dep.oracle.address.toLowerCase(),
          chainId: 31337,
          attestationId: vd.attestationId.toLowerCase(),
          projectId: 1,
          nonce,
          raw,
          hashes: [keccak256(raw)],
          sentAtMs: Date.now(),
        }),
      );
      await node.close();
      await start(); // reads the pending transaction at start, before the pipeline sends anything
      await waitFor(async () => (await shortfalls()).some((s) => s.attestationId === vd.attestationId) || null, {
        timeoutMs: 30_000,
        what: `ShortfallRecorded for ${vd.attestationId}`,
      });
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", { what: "the pending transaction settled" });
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal((await shortfalls()).length, count + 1, "recorded once: by the persisted transaction");
      const mined = await dep.publicClient.getTransactionReceipt({ hash: keccak256(raw) });
      assert.equal(mined.status, "success", "the persisted bytes are what was mined");
    });

    test("a pending recordShortfall of another key (rotated since) is dropped at start: batches keep the current key's nonces", async () => {
      await node.close();
      node = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        shortfalls: { enabled: false },
        parts: { calculator: calculator() },
      });
      node.storage.setMeta(
        PENDING_META_KEY,
        JSON.stringify({
          from: dep.admin.address.toLowerCase(),
          chainId: 31337,
          attestationId: `0x${"ab".repeat(32)}`,
          projectId: 1,
          nonce: 500,
          raw: "0x02",
          hashes: [`0x${"cd".repeat(32)}`],
          sentAtMs: Date.now(),
        }),
      );
      await node.close();
      await start();
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", {
        what: "the other key's transaction dropped",
      });
      // had the pipeline counted nonce 500 as in flight, this batch would wait behind a gap for ever
      const e = electricity(above);
      assert.equal((await readingPoster(node, above)(e)).status, 201);
      const ve = await waitForConfirmed(node.httpUrl!, readingDigestHex(e.reading), 60_000);
      await waitFor(async () => (await shortfalls()).some((x) => x.attestationId === ve.attestationId) || null, {
        timeoutMs: 30_000,
        what: `ShortfallRecorded for ${ve.attestationId}`,
      });
    });

    test("a correction batch of the node is recorded on CarbonCredits (recordCorrection), once, and its period asked again", async () => {
      // a late reading of the gitugi window already attested (and not issued) goes into a correction batch
      const post = readingPoster(node, below);
      const first = electricity(below);
      assert.equal((await post(first)).status, 201);
      const regular = await waitForConfirmed(node.httpUrl!, readingDigestHex(first.reading), 60_000);
      const late = electricity(below, { ts: first.reading.ts });
      assert.equal((await post(late)).status, 201);
      const correction = await waitForConfirmed(node.httpUrl!, readingDigestHex(late.reading), 60_000);
      assert.equal(correction.batch.correctionOfBatch, regular.batch.id, "the late reading is in a correction batch");
      const recorded = () =>
        creditsEvents<{ correctionId: Hex; originalId: Hex; projectId: number; fossilCo2eGrams: bigint }>(
          "CorrectionRecorded",
        );
      const events = await waitFor(
        async () => {
          const all = await recorded();
          return all.some((e) => e.correctionId === correction.attestationId) ? all : null;
        },
        { timeoutMs: 30_000, what: `CorrectionRecorded for ${correction.attestationId}` },
      );
      const mine = events.filter((e) => e.correctionId === correction.attestationId);
      // the corrected period is not issued: the grams are its own (project 0), not a project's debt
      assert.deepEqual(mine, [
        {
          correctionId: correction.attestationId,
          originalId: regular.attestationId,
          projectId: 0,
          fossilCo2eGrams: BigInt(correction.batch.fossilCo2eGrams),
        },
      ]);
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", { what: "the pending transaction settled" });
      await waitFor(() => behindCursor(correction.batch.id), {
        what: "the cursor past the correction (its period asked again: still under its baseline)",
      });
      assert.match(
        await (await fetch(`${node.httpUrl}/metrics`)).text(),
        /^carbonproof_oracle_corrections_recorded_total 1$/m,
      );
      assert.equal((await recorded()).filter((e) => e.correctionId === correction.attestationId).length, 1);
    });

    test("a correction of a revoked period is recorded: it re-attests the period and settles it, its excess charged", async () => {
      const registry = artifact("attestation/AttestationRegistry.sol/AttestationRegistry.json");
      const write = (functionName: string, args: unknown[]) =>
        adminWrite(dep.attestationRegistry, registry.abi as Abi, functionName, args);
      const post = readingPoster(node, below);
      const first = electricity(below);
      assert.equal((await post(first)).status, 201);
      const regular = await waitForConfirmed(node.httpUrl!, readingDigestHex(first.reading), 60_000);
      await write("grantRole", [keccak256(toHex("VERIFIER_ROLE")), dep.admin.address]);
      await write("revoke", [regular.attestationId, "test: meter replaced"]);
      const late = electricity(below, { ts: first.reading.ts });
      assert.equal((await post(late)).status, 201);
      const correction = await waitForConfirmed(node.httpUrl!, readingDigestHex(late.reading), 60_000);
      assert.equal(correction.batch.correctionOfBatch, regular.batch.id, "the late reading is in a correction batch");
      // recorded by the node (a revoked period's re-attestation counts: docs/credits.md) ...
      const recorded = await waitFor(
        async () => {
          const mine = (
            await creditsEvents<{ correctionId: Hex; originalId: Hex; projectId: number }>("CorrectionRecorded")
          ).filter((e) => e.correctionId === correction.attestationId);
          return mine.length ? mine : null;
        },
        { timeoutMs: 30_000, what: `CorrectionRecorded for ${correction.attestationId}` },
      );
      assert.deepEqual(
        recorded.map((e) => [e.originalId, e.projectId]),
        [[regular.attestationId, 0]],
      );
      // ... which settled the revoked period: under its baseline, nothing owed, once
      const settled = (await shortfalls()).filter((e) => e.attestationId === regular.attestationId);
      assert.equal(settled.length, 1, "the revoked period settled by its correction");
      assert.equal(settled[0]!.excessGrams, 0n);
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", { what: "the pending transaction settled" });
      await waitFor(() => behindCursor(correction.batch.id), {
        what: "the cursor past the correction of the revoked period",
      });
      assert.equal(
        (await creditsEvents<{ correctionId: Hex }>("CorrectionRecorded")).filter(
          (e) => e.correctionId === correction.attestationId,
        ).length,
        1,
        "recorded once",
      );
    });

    test("a batch confirmed after the cursor passed its id (an operator's retry) is still asked, and recorded", async () => {
      // the recorder off while two periods are attested: one above its baseline, then one under it
      await startQuiet();
      const vv = await attest(above);
      const vw = await attest(below);
      const later = node.storage.getBatch(vw.batch.id)!;
      assert.ok(later.id > vv.batch.id);
      // the cursor at the later batch, as if both had been asked; then the earlier one is confirmed
      // anew (what `retry` of a failed batch and its new transaction do), after the cursor in time
      node.storage.setMeta(CURSOR_META_KEY, JSON.stringify({ atMs: later.updatedAtMs, id: later.id }));
      node.storage.setMeta(RECHECK_META_KEY, "[]");
      await node.close();
      const db = new DatabaseSync(join(tmp.dir, "oracle.db"));
      db.prepare("UPDATE batches SET updated_at_ms = ? WHERE id = ?").run(later.updatedAtMs + 1, vv.batch.id);
      db.close();
      const count = (await shortfalls()).length;
      await start();
      await waitFor(async () => (await shortfalls()).some((s) => s.attestationId === vv.attestationId) || null, {
        timeoutMs: 30_000,
        what: `ShortfallRecorded for ${vv.attestationId}, confirmed after the cursor's batch`,
      });
      await waitFor(() => behindCursor(vv.batch.id), { what: "the cursor past it" });
      assert.equal((await shortfalls()).length, count + 1);
    });

    test("after the upgrade from the id cursor, a batch it had not settled is asked, however old", async () => {
      await startQuiet();
      const vv = await attest(above);
      await node.close();
      // as a node before schema 7 left it: its id cursor just below the batch, no new cursor; and
      // the batch confirmed three days ago, before the first pass's lookbackDays (1 here)
      const db = new DatabaseSync(join(tmp.dir, "oracle.db"));
      db.prepare("UPDATE batches SET updated_at_ms = ? WHERE id = ?").run(Date.now() - 3 * 86_400_000, vv.batch.id);
      db.prepare("DELETE FROM meta WHERE key IN (?, ?)").run(CURSOR_META_KEY, RECHECK_META_KEY);
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").run(
        LEGACY_CURSOR_META_KEY,
        String(vv.batch.id - 1),
      );
      db.close();
      const count = (await shortfalls()).length;
      node = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits },
        shortfalls: { everyMs: 200, lookbackDays: 1 },
        parts: { calculator: calculator() },
      });
      await waitFor(async () => (await shortfalls()).some((s) => s.attestationId === vv.attestationId) || null, {
        timeoutMs: 30_000,
        what: `ShortfallRecorded for ${vv.attestationId}, settled by neither cursor`,
      });
      await waitFor(() => behindCursor(vv.batch.id), { what: "then settled" });
      assert.equal(node.storage.getMeta(LEGACY_CURSOR_META_KEY), "", "the old cursor read once, then cleared");
      assert.equal((await shortfalls()).length, count + 1);
    });

    test("a baseline changed after a period was settled under it (a segment lowered; a project registered later, back-dated): the period is asked again, and recorded", async () => {
      const send = creditsWrite;
      const project = registerProject;
      // two facilities of their own: one with a project whose baseline is far above its periods, one with none
      const lowered = makeDevice("kagwe-meter-1", "ktda-kagwe");
      const unregistered = makeDevice("ikumbi-meter-1", "ktda-ikumbi");
      await dep.registerDevice(lowered.deviceId, lowered.facilityId, lowered.publicKey, 1);
      await dep.registerDevice(unregistered.deviceId, unregistered.facilityId, unregistered.publicKey, 1);
      await project("ktda-kagwe", 10n ** 15n); // project 3
      const count = (await shortfalls()).length;
      const vk = await attest(lowered);
      const vu = await attest(unregistered);
      // and a late reading of the second's window: a correction, settled unrecorded (no project yet)
      const late = electricity(unregistered, {
        ts: Number(headerFromJson(node.storage.getBatch(vu.batch.id)!.headerJson!).periodStart),
      });
      assert.equal((await readingPoster(node, unregistered)(late)).status, 201);
      const vc = await waitForConfirmed(node.httpUrl!, readingDigestHex(late.reading), 60_000);
      assert.equal(vc.batch.correctionOfBatch, vu.batch.id, "the late reading is in a correction batch");
      await waitFor(() => behindCursor(vk.batch.id) && behindCursor(vu.batch.id) && behindCursor(vc.batch.id), {
        what: "all settled: under the baseline, and without a project",
      });
      const corrections = await recordedCorrections();
      assert.ok(!corrections.includes(vc.attestationId.toLowerCase()), "no project: nothing recorded");
      assert.equal((await shortfalls()).length, count, "nothing to record yet");

      // the verifier lowers the first's baseline from its period on, and registers the second's
      // project with a baseline from a day back
      const periodStart = headerFromJson(node.storage.getBatch(vk.batch.id)!.headerJson!).periodStart;
      await send("setBaseline", [3, periodStart, 1n, "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy"]);
      await project("ktda-ikumbi", 1n); // project 4
      const recorded = await waitFor(
        async () => {
          const all = await shortfalls();
          const ours = all.filter((s) => s.attestationId === vk.attestationId || s.attestationId === vu.attestationId);
          return ours.length === 2 ? ours : null;
        },
        { timeoutMs: 60_000, what: "ShortfallRecorded for both periods" },
      );
      assert.deepEqual(recorded.map((r) => r.projectId).sort(), [3, 4]);
      // the correction settled without a project is recorded too, once: its grams count against its period
      await waitFor(async () => (await recordedCorrections()).includes(vc.attestationId.toLowerCase()) || null, {
        timeoutMs: 60_000,
        what: `CorrectionRecorded for ${vc.attestationId}`,
      });
      // done with both facilities: nothing left to ask again, and nothing recorded twice
      await waitFor(
        async () =>
          ((await (await fetch(`${node.httpUrl}/v1/status`)).json()) as { shortfalls: { rescans: number } }).shortfalls
            .rescans === 0 || null,
        { what: "/v1/status: no facility left to ask again" },
      );
      await waitFor(() => node.storage.getMeta(PENDING_META_KEY) === "", { what: "the pending transaction settled" });
      assert.equal((await shortfalls()).length, count + 2);
    });

    test("after the upgrade that asks corrections too, the baseline events are followed again: a correction an older node's rescan passed over is recorded", async () => {
      const dev = makeDevice("kapkoros-meter-1", "ktda-kapkoros");
      await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
      // a regular period and its correction, settled unrecorded while the facility had no project
      const vr = await attest(dev);
      const late = electricity(dev, {
        ts: Number(headerFromJson(node.storage.getBatch(vr.batch.id)!.headerJson!).periodStart),
      });
      assert.equal((await readingPoster(node, dev)(late)).status, 201);
      const vc = await waitForConfirmed(node.httpUrl!, readingDigestHex(late.reading), 60_000);
      assert.equal(vc.batch.correctionOfBatch, vr.batch.id);
      await waitFor(() => behindCursor(vr.batch.id) && behindCursor(vc.batch.id), { what: "both settled" });
      // the project is registered (back-dated) while the node is stopped, and the node's follower
      // state is an older version's that had taken that event, and rescanned the regular period only
      await startQuiet();
      await registerProject("ktda-kapkoros", 10n ** 15n); // under it: nothing but the correction to record
      const head = await dep.publicClient.getBlockNumber();
      const older = JSON.parse(node.storage.getMeta(BASELINES_META_KEY)!) as Record<string, unknown>;
      delete older.version;
      node.storage.setMeta(BASELINES_META_KEY, JSON.stringify({ ...older, block: Number(head), rescans: [] }));
      await node.close();
      await start();
      await waitFor(async () => (await recordedCorrections()).includes(vc.attestationId.toLowerCase()) || null, {
        timeoutMs: 60_000,
        what: `CorrectionRecorded for ${vc.attestationId}, after the events were followed again`,
      });
      assert.equal(
        (JSON.parse(node.storage.getMeta(BASELINES_META_KEY)!) as { version: number }).version,
        2,
        "the state is this version's",
      );
    });

    /** `functionName(...args)` of CarbonCredits sent by the deployment's admin, mined successfully. */
    const creditsWrite = (functionName: string, args: unknown[]) =>
      adminWrite(credits, artifact("credits/CarbonCredits.sol/CarbonCredits.json").abi as Abi, functionName, args);
    /** A project of `facility` (CarbonProof methodology) with a baseline of `gramsPerDay` from a day back. */
    const registerProject = (facility: string, gramsPerDay: bigint) =>
      creditsWrite("registerProject", [
        {
          proponent: PROPONENT.address,
          facilityId: idToBytes32(facility),
          methodologyId: METHODOLOGY_ID,
          name: facility,
          standard: "CarbonProof v1",
          baselineEffectiveFrom: BigInt(Math.floor(Date.now() / 1000)) - 86_400n,
          baselineGramsPerDay: gramsPerDay,
          baselineCid: "",
        },
      ]);

    /** `functionName(...args)` sent by the deployment's admin to `address`, mined successfully. */
    const adminWrite = async (address: Hex, abi: Abi, functionName: string, args: unknown[]) => {
      const h = await dep.wallet.writeContract({
        address,
        abi,
        functionName,
        args,
        account: dep.admin,
        chain: dep.wallet.chain,
      });
      assert.equal((await dep.publicClient.waitForTransactionReceipt({ hash: h })).status, "success", functionName);
    };

    /** The node started again with its recorder off (as a node that has not asked yet). */
    const startQuiet = async () => {
      await node.close();
      node = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits },
        shortfalls: { enabled: false },
        parts: { calculator: calculator() },
      });
    };

    /** A reading of device `d` posted and attested: its view once confirmed. */
    const attest = async (d: typeof above) => {
      const e = electricity(d);
      assert.equal((await readingPoster(node, d)(e)).status, 201);
      return waitForConfirmed(node.httpUrl!, readingDigestHex(e.reading), 60_000);
    };

    /** The recorder has asked this batch and need not ask it again: behind its cursor, not to be asked again. */
    const behindCursor = (batchId: number) => {
      const raw = node.storage.getMeta(CURSOR_META_KEY);
      const b = node.storage.getBatch(batchId);
      if (!raw || !b) return false;
      const c = JSON.parse(raw) as { atMs: number; id: number };
      const recheck = JSON.parse(node.storage.getMeta(RECHECK_META_KEY) || "[]") as number[];
      return (c.atMs > b.updatedAtMs || (c.atMs === b.updatedAtMs && c.id >= b.id)) && !recheck.includes(batchId);
    };

    const recordedCorrections = async () =>
      (await creditsEvents<{ correctionId: Hex }>("CorrectionRecorded")).map((a) => a.correctionId.toLowerCase());

    /** The header of a batch the node attested, as stored (the argument recordShortfall takes). */
    function headerOf(attestationId: Hex) {
      const batch = node.storage.getBatchByAttestation(attestationId);
      assert.ok(batch?.headerJson, `batch of ${attestationId}`);
      return headerFromJson(batch.headerJson);
    }

    test("an unmined recordShortfall is gas bumped only up to chain.maxFeePerGas, then recorded once mined", async () => {
      // the suite's node gives way to one that bumps every 200 ms under a cap; blocks are mined by hand
      await node.close();
      const estimate = await dep.publicClient.estimateFeesPerGas();
      const cap = (estimate.maxFeePerGas * 17n) / 10n;
      const bumping = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits, gasBumpAfterMs: 200, maxFeePerGas: cap.toString() },
        shortfalls: { everyMs: 200 },
        parts: { calculator: calculator() },
      });
      await hh.rpc("evm_setAutomine", [false]);
      try {
        const a = electricity(above);
        assert.equal((await readingPoster(bumping, above)(a)).status, 201);
        const digest = readingDigestHex(a.reading);
        // the batch's own transaction mined (and confirmed) by hand
        await waitFor(
          async () => {
            await hh.rpc("evm_mine");
            const b = bumping.storage.getReading(digest)?.batchId;
            return b !== undefined && b !== null && bumping.storage.getBatch(b)?.state === "confirmed";
          },
          { timeoutMs: 60_000, intervalMs: 300, what: "the batch confirmed" },
        );
        // then the recorder's transaction waits unmined, bumped every 200 ms
        const pending = () =>
          JSON.parse(bumping.storage.getMeta(PENDING_META_KEY) || "null") as {
            raw: Hex;
            hashes: Hex[];
            attestationId: Hex;
          } | null;
        const raws = new Set<Hex>();
        const settled = await waitFor(
          async () => {
            const before = pending();
            if (before) raws.add(before.raw);
            await new Promise((r) => setTimeout(r, 1_500)); // several bump periods
            const now = pending();
            if (now) raws.add(now.raw);
            return before && now && now.hashes.length >= 2 && now.hashes.length === before.hashes.length ? now : null;
          },
          { timeoutMs: 60_000, intervalMs: 0, what: "the recordShortfall bumps to stop at the cap" },
        );
        for (const raw of raws) {
          const f = parseTransaction(raw) as TransactionSerializableEIP1559;
          assert.ok(f.maxFeePerGas! <= cap, `maxFeePerGas ${f.maxFeePerGas} within the cap ${cap}`);
        }
        // from the first fee (the estimate, fallen while blocks were mined) up to 1.7 × it, 15 % a bump
        assert.ok(settled.hashes.length <= 10, `${settled.hashes.length} versions: a few, not unbounded`);
        await hh.rpc("evm_mine");
        await waitFor(
          async () => (await shortfalls()).filter((e) => e.attestationId === settled.attestationId).length === 1,
          { timeoutMs: 30_000, what: `ShortfallRecorded for ${settled.attestationId}` },
        );
        await waitFor(() => bumping.storage.getMeta(PENDING_META_KEY) === "", {
          what: "the pending transaction settled",
        });
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        await bumping.close();
        await start();
      }
    });

    test("a recordShortfall first signed during a fee spike bids no more than chain.maxFeePerGas", async () => {
      // a period attested while the recorder is off, then a spike: the latest block's base fee 20 gwei
      await startQuiet();
      const v = await attest(above);
      await node.close();
      const spike = 20_000_000_000n;
      await hh.rpc("hardhat_setNextBlockBaseFeePerGas", [toHex(spike)]);
      await hh.rpc("evm_mine");
      // a cap above the next blocks' base fee (the call can be mined) but under the estimate (1.2 × base fee + tip)
      const cap = (spike * 11n) / 10n;
      const estimate = await dep.publicClient.estimateFeesPerGas();
      assert.ok(estimate.maxFeePerGas > cap, `the estimate ${estimate.maxFeePerGas} above the cap ${cap}`);
      node = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits, maxFeePerGas: cap.toString() },
        shortfalls: { everyMs: 200 },
        parts: { calculator: calculator() },
      });
      try {
        const log = await waitFor(
          async () =>
            (
              await dep.publicClient.getContractEvents({
                address: credits,
                abi: carbonCreditsAbi,
                eventName: "ShortfallRecorded",
                fromBlock: 0n,
              })
            ).find((l) => (l.args as { attestationId: Hex }).attestationId === v.attestationId) ?? null,
          { timeoutMs: 30_000, what: `ShortfallRecorded for ${v.attestationId}` },
        );
        // mined at once (automine; bumps only after chain.gasBumpAfterMs, 30 s): the first signing
        const tx = await dep.publicClient.getTransaction({ hash: log.transactionHash });
        assert.equal(tx.from.toLowerCase(), dep.oracle.address.toLowerCase());
        assert.ok(tx.maxFeePerGas! <= cap, `maxFeePerGas ${tx.maxFeePerGas} within the cap ${cap}`);
        assert.ok(tx.maxPriorityFeePerGas! <= cap);
      } finally {
        await node.close();
        await start();
      }
    });

    /**
     * The node again, its recorder on, counting `confirmations` (bumps after 10 minutes: none here);
     * blocks are mined by hand (automine off) so that "1 of N confirmations" is exact.
     */
    const startCounting = async (confirmations: number) => {
      node = await chainTestNode(hh, dep, {
        dir: tmp.dir,
        chain: { carbonCredits: credits, confirmations, gasBumpAfterMs: 600_000 },
        shortfalls: { everyMs: 200 },
        parts: { calculator: calculator() },
      });
    };
    /** The recorder's persisted transaction, null once settled. */
    const pendingTx = () =>
      JSON.parse(node.storage.getMeta(PENDING_META_KEY) || "null") as { nonce: number; hashes: Hex[] } | null;
    /** The node's ShortfallRecorded events of one period. */
    const recordedFor = async (attestationId: Hex) =>
      (await shortfalls()).filter((s) => s.attestationId === attestationId).length;
    const known = async (hash: Hex) => (await hh.rpc<unknown>("eth_getTransactionByHash", [hash])) !== null;
    /**
     * Resolves once a whole pass of the recorder has run since the call (the second to end after
     * it: the first may have begun before), so that it saw the chain as it is now.
     */
    const wholePass = async () => {
      for (let i = 0; i < 2; i++) {
        const since = Date.now();
        await waitFor(
          async () =>
            (
              (await (await fetch(`${node.httpUrl}/v1/status`)).json()) as {
                shortfalls: { lastPassAtMs: number | null };
              }
            ).shortfalls.lastPassAtMs! > since,
          { timeoutMs: 30_000, what: "a pass of the recorder" },
        );
      }
    };

    test("a recordShortfall is settled only once `chain.confirmations` deep, not at its first receipt, after a restart too", async () => {
      await startQuiet();
      const v = await attest(above);
      await node.close();
      await hh.rpc("evm_setAutomine", [false]);
      try {
        await startCounting(3);
        const sent = await waitFor(pendingTx, { what: "the recordShortfall persisted" });
        await waitFor(() => known(sent.hashes[0]!), { what: "the recordShortfall broadcast" });
        await hh.rpc("evm_mine");
        const rc = await dep.publicClient.getTransactionReceipt({ hash: sent.hashes[0]! });
        assert.equal(rc.status, "success");
        assert.equal(await recordedFor(v.attestationId), 1, "recorded on chain, 1 block deep");
        for (const deep of [1, 2]) {
          assert.equal(BigInt(await hh.rpc<string>("eth_blockNumber")), rc.blockNumber + BigInt(deep - 1));
          await wholePass();
          assert.deepEqual(pendingTx(), sent, `${deep} of 3 confirmations: still pending`);
          assert.ok(!behindCursor(v.batch.id), `${deep} of 3 confirmations: its batch still to ask`);
          if (deep === 1) {
            // what is persisted is enough: a restarted node counts on
            await node.close();
            await startCounting(3);
            await hh.rpc("evm_mine");
          }
        }
        await hh.rpc("evm_mine");
        await waitFor(() => pendingTx() === null, { what: "the recordShortfall settled, 3 deep" });
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled" });
        assert.equal(await recordedFor(v.attestationId), 1);
        assert.equal(
          await dep.publicClient.getTransactionCount({ address: dep.oracle.address }),
          sent.nonce + 1,
          "nothing sent after it",
        );
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        await node.close();
        await start();
      }
    });

    test("a recordShortfall whose first receipt a reorg takes back is not settled: sent again as unmined, then recorded once", async () => {
      await startQuiet();
      const v = await attest(above);
      await node.close();
      await hh.rpc("evm_setAutomine", [false]);
      // the chain before the transaction is sent: the reorg takes its block back, and it is in no mempool
      const snapshot = await hh.rpc<string>("evm_snapshot");
      try {
        await startCounting(2);
        const sent = await waitFor(pendingTx, { what: "the recordShortfall persisted" });
        const hash = sent.hashes[0]!;
        await waitFor(() => known(hash), { what: "the recordShortfall broadcast" });
        await hh.rpc("evm_mine");
        assert.equal((await dep.publicClient.getTransactionReceipt({ hash })).status, "success");
        assert.equal(await recordedFor(v.attestationId), 1, "recorded on chain, 1 block deep");
        await wholePass();
        assert.deepEqual(pendingTx(), sent, "1 of 2 confirmations: still pending");

        assert.equal(await hh.rpc("evm_revert", [snapshot]), true);
        assert.equal(await hh.rpc("eth_getTransactionReceipt", [hash]), null, "its receipt gone");
        assert.equal(await recordedFor(v.attestationId), 0, "and its record");
        // unmined again: the same bytes broadcast again, at the same nonce
        await waitFor(() => known(hash), { what: "the recordShortfall sent again" });
        await wholePass();
        assert.deepEqual(pendingTx(), sent, "still pending, unmined");
        assert.ok(!behindCursor(v.batch.id), "its batch still to ask");
        await hh.rpc("evm_mine");
        await hh.rpc("evm_mine");
        await waitFor(() => pendingTx() === null, { what: "the recordShortfall settled, 2 deep" });
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled" });
        assert.equal(await recordedFor(v.attestationId), 1, "recorded once");
        assert.equal((await dep.publicClient.getTransactionReceipt({ hash })).status, "success");
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        await node.close();
        await start();
      }
    });

    /** The recorder keeps batch `batchId` to ask again at its next passes. */
    const toRecheck = (batchId: number) =>
      (JSON.parse(node.storage.getMeta(RECHECK_META_KEY) || "[]") as number[]).includes(batchId);
    /** The oracle account's next nonce, its unmined transactions counted: what the node has sent. */
    const oracleNonce = () =>
      dep.publicClient.getTransactionCount({ address: dep.oracle.address, blockTag: "pending" });
    /**
     * A period attested while the recorder is off (the node closed after), and `record`, which
     * records it from another account (the proponent: anyone may), mined at once: its receipt.
     */
    const attestedUnrecorded = async () => {
      await startQuiet();
      const v = await attest(above);
      const header = headerOf(v.attestationId);
      await node.close();
      // its attestation 3 deep, as a node counting 3 confirmations would have confirmed it
      await hh.rpc("evm_mine");
      await hh.rpc("evm_mine");
      const record = async () => {
        const h = await dep.wallet.writeContract({
          address: credits,
          abi: carbonCreditsAbi,
          functionName: "recordShortfall",
          args: [1, header],
          account: PROPONENT,
          chain: dep.wallet.chain,
        });
        const rc = await dep.publicClient.waitForTransactionReceipt({ hash: h });
        assert.equal(rc.status, "success", "recorded by the proponent");
        assert.equal(await recordedFor(v.attestationId), 1);
        return rc;
      };
      return { v, record };
    };
    /**
     * Resolves at the first pass that asked batch `batchId` (kept to ask again, or passed); rejects
     * if that pass settled it, as if the answer at the latest block were enough.
     */
    const keptToRecheck = async (batchId: number, why: string) => {
      await waitFor(() => toRecheck(batchId) || behindCursor(batchId), { what: `batch ${batchId} asked` });
      assert.ok(toRecheck(batchId) && !behindCursor(batchId), `${why}: its batch kept to ask again, not settled`);
    };

    test("a period recorded by another account is settled only once that is `chain.confirmations` deep: until then asked again, nothing sent", async () => {
      const { v, record } = await attestedUnrecorded();
      const rc = await record();
      await hh.rpc("evm_setAutomine", [false]);
      try {
        const nonce = await oracleNonce();
        await startCounting(3);
        for (const deep of [1, 2]) {
          assert.equal(BigInt(await hh.rpc<string>("eth_blockNumber")), rc.blockNumber + BigInt(deep - 1));
          if (deep === 1) await keptToRecheck(v.batch.id, `${deep} of 3 confirmations`);
          await wholePass();
          assert.ok(toRecheck(v.batch.id) && !behindCursor(v.batch.id), `${deep} of 3 confirmations: still to ask`);
          // the latest block says recorded: a recordShortfall now would only revert
          assert.equal(pendingTx(), null, `${deep} of 3 confirmations: nothing pending`);
          assert.equal(await oracleNonce(), nonce, `${deep} of 3 confirmations: nothing sent`);
          await hh.rpc("evm_mine");
        }
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled, 3 deep" });
        assert.equal(await oracleNonce(), nonce, "nothing sent: the proponent's record stands");
        assert.equal(await recordedFor(v.attestationId), 1);
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        await node.close();
        await start();
      }
    });

    test("a period recorded by another account in a block a reorg takes back is recorded by the node", async () => {
      const { v, record } = await attestedUnrecorded();
      // the chain before the proponent's record: the reorg takes its block back, and it is in no mempool
      const snapshot = await hh.rpc<string>("evm_snapshot");
      await record();
      await hh.rpc("evm_setAutomine", [false]);
      try {
        await startCounting(2);
        await keptToRecheck(v.batch.id, "1 of 2 confirmations");
        assert.equal(pendingTx(), null, "nothing sent: the latest block says recorded");

        assert.equal(await hh.rpc("evm_revert", [snapshot]), true);
        assert.equal(await recordedFor(v.attestationId), 0, "the proponent's record gone");
        // asked again: now the node's own to record
        const sent = await waitFor(pendingTx, { what: "the node's recordShortfall persisted" });
        const hash = sent.hashes[0]!;
        await waitFor(() => known(hash), { what: "the recordShortfall broadcast" });
        await hh.rpc("evm_mine");
        await hh.rpc("evm_mine");
        await waitFor(() => pendingTx() === null, { what: "the recordShortfall settled, 2 deep" });
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled" });
        assert.equal(await recordedFor(v.attestationId), 1, "recorded once");
        const mined = await dep.publicClient.getTransactionReceipt({ hash });
        assert.equal(mined.status, "success");
        assert.equal(mined.from.toLowerCase(), dep.oracle.address.toLowerCase(), "by the node");
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        await node.close();
        await start();
      }
    });

    /** The node's warnings and errors, kept to read: a logger of the test's, and what it wrote. */
    const warnings = () => {
      const logs: { level: number; msg: string; line: string }[] = [];
      const logger = pino(
        { level: "warn" },
        { write: (line: string) => void logs.push({ ...(JSON.parse(line) as { level: number; msg: string }), line }) },
      );
      return { logs, logger };
    };
    /**
     * The node counting 3 confirmations, as chainTestNode starts it, but reaching the chain through
     * `rpcUrl` (a proxy in front of Hardhat) and logging to `logger`.
     */
    const countingBehind = (rpcUrl: string, logger: Logger) =>
      testNode({
        config: {
          batching: { windowS: 2, graceS: 1, tickMs: 100 },
          devices: { source: "chain", cacheTtlMs: 60_000 },
          chain: {
            enabled: true,
            rpcUrl,
            attestationRegistry: dep.attestationRegistry,
            deviceRegistry: dep.deviceRegistry,
            pollMs: 100,
            carbonCredits: credits,
            confirmations: 3,
            gasBumpAfterMs: 600_000,
          },
          shortfalls: { everyMs: 200 },
        },
        parts: { devices: undefined, calculator: calculator() },
        dir: tmp.dir,
        logger,
      });

    /**
     * Stands in for a pruned RPC node (geth's full node keeps the state of about 128 recent blocks;
     * some providers cap historical eth_calls) in front of the Hardhat node, which serves every
     * block's state: an eth_call at a block given by number is answered with geth's error for state
     * it no longer holds, and every other request (single or batched) is forwarded. `refused`: the
     * calls it refused. Its URL ends in a path like a provider's API key, which no log may show.
     */
    const prunedRpcNode = async (
      /** what a call at a block number gets: geth's error (pruned), HTTP 429 for the whole request, or an answer */
      deep: () => "pruned" | "429" | "forward" = () => "pruned",
    ) => {
      const key = "k3y0f7h3pr0v1d3r5ecr3t";
      let refused = 0;
      type Request = { id: unknown; method: string; params?: unknown[] };
      const isDeep = (r: Request) =>
        r.method === "eth_call" && typeof r.params?.[1] === "string" && /^0x[0-9a-f]+$/i.test(r.params[1]);
      const answer = async (r: Request) => {
        if (isDeep(r) && deep() === "pruned") {
          refused++;
          const root = `0x${"5e".repeat(32)}`;
          return {
            jsonrpc: "2.0",
            id: r.id,
            error: {
              code: -32000,
              message: `missing trie node ${root.slice(2)} (path ) state ${root} is not available`,
            },
          };
        }
        const res = await fetch(hh.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(r),
        });
        return (await res.json()) as unknown;
      };
      const server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on("data", (c: Buffer) => chunks.push(c));
        req.on("end", () => {
          const body = JSON.parse(Buffer.concat(chunks).toString()) as Request | Request[];
          if ((Array.isArray(body) ? body : [body]).some(isDeep) && deep() === "429") {
            refused++;
            res.writeHead(429, { "content-type": "text/plain" }).end("Too Many Requests");
            return;
          }
          (Array.isArray(body) ? Promise.all(body.map(answer)) : answer(body))
            .then((out) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(out)))
            .catch(() => res.writeHead(502).end());
        });
      });
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      return {
        key,
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v3/${key}`,
        refused: () => refused,
        close: () => new Promise((r) => server.close(r)),
      };
    };

    test("an RPC node that cannot answer an eth_call `chain.confirmations` deep (pruned): no pass fails, and a period recorded by another account is asked again until the latest block has shown it that long, then settled, nothing sent", async () => {
      const { v, record } = await attestedUnrecorded();
      const rc = await record();
      const pruned = await prunedRpcNode();
      await hh.rpc("evm_setAutomine", [false]);
      // the node's log, to read its warning
      const { logs, logger } = warnings();
      try {
        const nonce = await oracleNonce();
        process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
        node = await countingBehind(pruned.url, logger);
        for (const deep of [1, 2]) {
          assert.equal(BigInt(await hh.rpc<string>("eth_blockNumber")), rc.blockNumber + BigInt(deep - 1));
          if (deep === 1) await keptToRecheck(v.batch.id, `${deep} of 3 confirmations, the deep call refused`);
          await wholePass();
          assert.ok(toRecheck(v.batch.id) && !behindCursor(v.batch.id), `${deep} of 3 confirmations: still to ask`);
          assert.equal(pendingTx(), null, `${deep} of 3 confirmations: nothing pending`);
          assert.equal(await oracleNonce(), nonce, `${deep} of 3 confirmations: nothing sent`);
          await hh.rpc("evm_mine");
        }
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled, the record 3 deep" });
        assert.ok(pruned.refused() > 0, "the calls deep were made, and refused");
        assert.equal(await oracleNonce(), nonce, "nothing sent: the proponent's record stands");
        assert.equal(await recordedFor(v.attestationId), 1);
        const status = (await (await fetch(`${node.httpUrl}/v1/status`)).json()) as {
          shortfalls: { lastError: string | null };
        };
        assert.equal(status.shortfalls.lastError, null);
        assert.deepEqual(
          logs.filter((l) => /shortfall pass failed/.test(l.msg)),
          [],
          "no pass failed",
        );
        // said once (this process's first such refusal), with what the node does instead and the fix
        const warned = logs.filter((l) => /did not answer an eth_call/.test(l.msg));
        assert.equal(warned.length, 1, JSON.stringify(logs.map((l) => l.msg)));
        assert.equal(warned[0]!.level, 40, "a warning");
        assert.match(warned[0]!.msg, /2 blocks below the head \(chain\.confirmations 3\)/);
        assert.match(warned[0]!.msg, /settled once the latest block still says so 2 blocks later/);
        assert.match(warned[0]!.msg, /archive RPC node, or lower chain\.confirmations/);
        assert.match(
          (JSON.parse(warned[0]!.line) as { error: string }).error,
          /^missing trie node (?:5e){32} \(path \) state 0x(?:5e){32} is not available$/,
          "with the RPC node's words",
        );
        for (const l of logs) assert.ok(!l.line.includes(pruned.key), `a log line shows the RPC URL's key: ${l.line}`);
      } finally {
        await hh.rpc("evm_setAutomine", [true]);
        delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
        await node.close();
        await pruned.close();
        await start();
      }
    });

    test("an RPC node that gives no answer to the eth_call `chain.confirmations` deep (HTTP 429) fails the pass, retried, and is not taken for a pruned node: settled by the exact read once it answers", async () => {
      const { v, record } = await attestedUnrecorded();
      await record();
      // the record 3 deep: the exact read settles it as soon as the deep call is answered
      await hh.rpc("evm_mine");
      await hh.rpc("evm_mine");
      let mode: "429" | "forward" = "429";
      const limited = await prunedRpcNode(() => mode);
      const { logs, logger } = warnings();
      const status = async () =>
        ((await (await fetch(`${node.httpUrl}/v1/status`)).json()) as { shortfalls: { lastError: string | null } })
          .shortfalls;
      try {
        const nonce = await oracleNonce();
        process.env.CARBONPROOF_ORACLE_PRIVATE_KEY = ORACLE_KEY;
        node = await countingBehind(limited.url, logger);
        await waitFor(async () => (await status()).lastError !== null, { what: "a pass failed on the 429" });
        assert.ok(limited.refused() > 0, "the deep calls were made, and refused");
        assert.ok(!behindCursor(v.batch.id), "not settled while the deep call goes unanswered");
        assert.ok(
          logs.some((l) => /shortfall pass failed/.test(l.msg)),
          "the pass failed, to be retried: a 429 is no sign of a pruned node",
        );
        // (taken for a pruned node, the pass would not fail: the fallback answers it)
        mode = "forward";
        await waitFor(() => behindCursor(v.batch.id), { what: "its batch settled by the exact read" });
        assert.equal((await status()).lastError, null);
        assert.equal(await oracleNonce(), nonce, "nothing sent: the proponent's record stands");
        assert.equal(await recordedFor(v.attestationId), 1);
        for (const l of logs) assert.ok(!l.line.includes(limited.key), `a log line shows the RPC URL's key: ${l.line}`);
      } finally {
        delete process.env.CARBONPROOF_ORACLE_PRIVATE_KEY;
        await node.close();
        await limited.close();
        await start();
      }
    });
  },
);
