/**
 * A restore whose backup predates an attested window, on a real Hardhat chain: the node seals
 * that window again from the fewer readings the backup holds, and the registry has the window
 * attested already (with all of them). With the attested bundle in the node's IPFS store, the
 * batch becomes that attestation's record and the readings the backup lacked come back from the
 * bundle; without it, the batch must end failed with the registry's reason, not be retried for
 * ever holding back its facility's later batches.
 */
import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { keccak256, toHex } from "viem";
import { readingDigestHex, type Envelope } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { backupDatabase, restoreDatabase } from "../src/storage/backup.ts";
import type { ConfigInput } from "../src/config/schema.ts";
import type { Batch } from "../src/storage/types.ts";
import {
  chainTestNode,
  deploy,
  HardhatNode,
  readingPoster,
  waitForConfirmed,
  type ConfirmedReading,
  type Deployment,
} from "./chain-harness.ts";
import { electricity, makeDevice } from "./fixtures.ts";
import { KuboStandIn } from "./kubo-standin.ts";
import { runOracleCli, tempDir, waitFor } from "./helpers.ts";

const WINDOW_S = 6;

describe("a restore whose backup predates an attested window", { timeout: 180_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  const tmp = tempDir();
  const dev = makeDevice("restore-meter-1");
  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    await dep.registerDevice(dev.deviceId, dev.facilityId, dev.publicKey, 1);
  });
  after(async () => {
    await hh?.stop();
    tmp.cleanup();
  });

  const nowS = () => Math.floor(Date.now() / 1000);
  /** Waits, if need be, for a window with 4 s or more left: readings of one window on either side of a backup. */
  const earlyInWindow = async () => {
    if (WINDOW_S - (nowS() % WINDOW_S) < 4)
      await new Promise((r) => setTimeout(r, (WINDOW_S - (nowS() % WINDOW_S)) * 1000));
  };
  /** Whether the registry takes a reading's proof (`GET /v1/readings/:digest`) against its attestation. */
  const verifiesOnChain = (view: ConfirmedReading) =>
    dep.publicClient.readContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "verifyReading",
      args: [view.attestationId, view.leaf, view.proof],
    });
  /** Posts `e` with `post`, expects it stored, and gives its digest. */
  const stored = async (post: ReturnType<typeof readingPoster>, e: Envelope) => {
    const res = await post(e);
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return readingDigestHex(e.reading);
  };

  test("the window sealed again from the backup's readings fails with the registry's reason; abandoned, the later batches go on", async () => {
    const dataDir = join(tmp.dir, "data");
    const start = () =>
      chainTestNode(hh, dep, {
        dir: dataDir,
        batching: { windowS: WINDOW_S, graceS: 1 },
        storage: { driver: "sqlite", url: undefined },
      });
    // two readings of one window, stored on either side of the backup: start early in a window
    await earlyInWindow();
    let node = await start();
    let post = readingPoster(node, dev);
    const send = (e: Envelope) => stored(post, e);
    const ts = nowS();
    const first = await send(electricity(dev, { ts }));
    const backupFile = join(tmp.dir, "backup.db");
    backupDatabase({ source: join(dataDir, "oracle.db"), target: backupFile });
    const second = await send(electricity(dev, { ts }));

    // the window is attested with both readings
    const attested = await waitForConfirmed(node.httpUrl!, second, 60_000);
    const firstView = await waitForConfirmed(node.httpUrl!, first, 10_000);
    assert.equal(firstView.attestationId, attested.attestationId, "one batch holds both");
    // a copy of the attested bundle kept elsewhere (another node of the quorum, an auditor's download)
    const elsewhere = join(tmp.dir, "bundle-elsewhere.json");
    writeFileSync(elsewhere, (await node.content!.get(attested.bundleCid))!);
    await node.close();

    restoreDatabase({ backup: backupFile, database: join(dataDir, "oracle.db") });
    // the node's IPFS store lost with it: the attested bundle is nowhere this node can read
    rmSync(join(dataDir, "ipfs"), { recursive: true, force: true });
    node = await start();
    post = readingPoster(node, dev);
    let failedId = 0;
    try {
      assert.equal(node.storage.getReading(second), null, "the backup predates the second reading");
      const failed = await waitFor(
        () => {
          const b = node.storage.listBatches({ facilityId: dev.facilityId }).find((x: Batch) => x.state === "failed");
          return b ?? null;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: "the re-sealed batch failed" },
      );
      assert.match(failed.error ?? "", /attested up to \d+, past this batch's start \d+, by another batch/);
      assert.match(failed.error ?? "", new RegExp(`carbonproof-oracle abandon ${failed.id}`));
      assert.match(
        failed.error ?? "",
        new RegExp(
          `nor taken as that attestation's record \\(attestation ${attested.attestationId}'s bundle \\S+ is not in this node's IPFS store\\)`,
        ),
      );
      assert.match(failed.error ?? "", new RegExp(`\`carbonproof-oracle pin FILE\` then \`retry ${failed.id}\``));
      assert.equal(failed.readingCount, 1);
      assert.equal(failed.txHash, null, "nothing was sent");

      // a later window's reading waits behind it until it is abandoned, then is attested
      const later = await send(electricity(dev, { ts: nowS() + WINDOW_S }));
      const held = await waitFor(
        () =>
          node.storage
            .listBatches({ facilityId: dev.facilityId })
            .find((x: Batch) => x.periodStart > failed.periodStart && /waits for regular batch/.test(x.error ?? "")) ??
          null,
        { timeoutMs: 60_000, intervalMs: 100, what: "the later batch held behind the failed one" },
      );
      assert.match(held.error!, new RegExp(`waits for regular batch ${failed.id} `));
      const admin = createApiKey(node.storage, { scope: "admin", subject: "restore-test" }).key;
      const res = await fetch(`${node.httpUrl}/v1/admin/batches/${failed.id}/abandon`, {
        method: "POST",
        headers: { "x-api-key": admin },
      });
      assert.equal(res.status, 200, await res.clone().text());
      const view = await waitForConfirmed(node.httpUrl!, later, 60_000);
      assert.notEqual(view.attestationId, attested.attestationId);

      // retried while the bundle is still missing: taken back, since the registry holds an
      // attestation of exactly its period, never to be sent, and failed again saying why; abandoned
      // as it was, so the facility's later batches go on meanwhile
      const early = await fetch(`${node.httpUrl}/v1/admin/batches/${failed.id}/retry`, {
        method: "POST",
        headers: { "x-api-key": admin },
      });
      assert.equal(early.status, 200, await early.clone().text());
      const body = (await early.json()) as { state: string; abandonedAt: number | null; adopting: unknown };
      assert.equal(body.state, "signed", "not signed again: it is never sent");
      assert.notEqual(body.abandonedAt, null, "abandoned as it was");
      assert.deepEqual(body.adopting, {
        attestationId: attested.attestationId,
        bundleCid: attested.bundleCid,
        readings: 2,
      });
      const again = await waitFor(
        () => {
          const b = node.storage.getBatch(failed.id)!;
          return b.state === "failed" ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: "the retried batch failed again" },
      );
      assert.match(again.error ?? "", /is not in this node's IPFS store/);
      assert.notEqual(again.abandonedAt, null, "still abandoned: it holds nothing back");
      const later2 = await send(electricity(dev, { ts: nowS() + WINDOW_S }));
      await waitForConfirmed(node.httpUrl!, later2, 60_000);
      failedId = failed.id;
    } finally {
      await node.close();
    }

    // the bundle pinned from the copy (the node stopped, as the embedded store asks), then retried:
    // the batch becomes the attestation's record and the reading the backup lacked comes back
    const configFile = join(tmp.dir, "restore-pin.json");
    writeFileSync(configFile, JSON.stringify({ dataDir }));
    const pinned = await runOracleCli(["pin", elsewhere, "--config", configFile], {});
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.equal((JSON.parse(pinned.stdout) as { pinned: { cid: string }[] }).pinned[0]!.cid, attested.bundleCid);
    node = await start();
    try {
      const admin = createApiKey(node.storage, { scope: "admin", subject: "restore-test" }).key;
      const res = await fetch(`${node.httpUrl}/v1/admin/batches/${failedId}/retry`, {
        method: "POST",
        headers: { "x-api-key": admin },
      });
      assert.equal(res.status, 200, await res.clone().text());
      for (const digest of [first, second]) {
        const view = await waitForConfirmed(node.httpUrl!, digest, 60_000);
        assert.equal(view.attestationId, attested.attestationId);
        assert.equal(await verifiesOnChain(view), true, `the proof of ${digest} verifies on-chain`);
      }
      assert.equal(node.storage.getReading(second)?.source, "bundle");
      const batch = node.storage.getBatchByAttestation(attested.attestationId)!;
      assert.equal(batch.state, "confirmed");
      assert.equal(batch.abandonedAt, null);
    } finally {
      await node.close();
    }
  });

  /**
   * A facility of its own (`tag`), whose window is attested with three readings, two of them after
   * a backup that is then restored: the node stopped, its IPFS store kept. `start` starts it again.
   * Facilities in `also` (a meter each) have theirs attested so on the same node: `others`.
   */
  const attestedAfterBackup = async (
    tag: string,
    facility: string,
    ipfs?: NonNullable<ConfigInput["ipfs"]>,
    also: string[] = [],
  ) => {
    const dataDir = join(tmp.dir, `data-${tag}`);
    const facilities = [facility, ...also];
    const meters = facilities.map((f, i) => makeDevice(`restore-meter-${tag}${i ? `-${i}` : ""}`, f));
    for (const meter of meters) await dep.registerDevice(meter.deviceId, meter.facilityId, meter.publicKey, 1);
    const start = (batching: { graceS?: number } = {}) =>
      chainTestNode(hh, dep, {
        dir: dataDir,
        batching: { windowS: WINDOW_S, graceS: 1, ...batching },
        storage: { driver: "sqlite", url: undefined },
        parts: {
          calculator: new SdkCalculator({
            facilities: Object.fromEntries(facilities.map((f) => [f, { country: "KEN" }])),
          }),
        },
        ipfs,
      });
    await earlyInWindow();
    const node = await start();
    const sends = meters.map((meter) => {
      const post = readingPoster(node, meter);
      return (e: Envelope) => stored(post, e);
    });
    const ts = nowS();
    const firsts: string[] = [];
    for (const [i, meter] of meters.entries()) firsts.push(await sends[i]!(electricity(meter, { ts })));
    const backupFile = join(tmp.dir, `backup-${tag}.db`);
    backupDatabase({ source: join(dataDir, "oracle.db"), target: backupFile });
    // accepted after the backup: lost with the database, but attested in the window's bundle
    const losts: string[][] = [];
    for (const [i, meter] of meters.entries())
      losts.push([await sends[i]!(electricity(meter, { ts })), await sends[i]!(electricity(meter, { ts: ts + 1 }))]);
    const windows = [];
    for (const [i, meter] of meters.entries()) {
      const attested = await waitForConfirmed(node.httpUrl!, losts[i]![0]!, 60_000);
      windows.push({ meter, first: firsts[i]!, lost: losts[i]!, attested });
    }
    await node.close();
    restoreDatabase({ backup: backupFile, database: join(dataDir, "oracle.db") });
    return { ...windows[0]!, start, others: windows.slice(1) };
  };

  test("its bundle in the node's store: the batch becomes the attestation's record, and the readings the backup lacked come back from it, provable", async () => {
    const { meter, start, first, lost, attested } = await attestedAfterBackup("adopt", "ktda-gitugi");
    const node = await start();
    const post = readingPoster(node, meter);
    const send = (e: Envelope) => stored(post, e);
    try {
      assert.equal(node.storage.getReading(lost[0]!), null, "the backup predates them");
      for (const digest of [first, ...lost]) {
        const view = await waitForConfirmed(node.httpUrl!, digest, 60_000);
        assert.equal(view.attestationId, attested.attestationId, "the attested batch, not a new one");
        assert.equal(view.bundleCid, attested.bundleCid);
        assert.equal(await verifiesOnChain(view), true, `the proof of ${digest} verifies on-chain`);
      }
      for (const digest of lost) assert.equal(node.storage.getReading(digest)?.source, "bundle");
      assert.equal(node.storage.getReading(first)?.source, "http");
      const batch = node.storage.getBatchByAttestation(attested.attestationId)!;
      assert.equal(batch.state, "confirmed");
      assert.equal(batch.readingCount, 3);
      assert.equal(batch.txHash, attested.batch.txHash, "the transaction that attested it");
      assert.equal(
        node.storage.listBatches({ facilityId: meter.facilityId }).filter((b) => b.state === "failed").length,
        0,
        "nothing failed, nothing to abandon",
      );
      // the facility goes on: a later window is attested
      const later = await send(electricity(meter, { ts: nowS() + WINDOW_S }));
      const view = await waitForConfirmed(node.httpUrl!, later, 60_000);
      assert.notEqual(view.attestationId, attested.attestationId);
    } finally {
      await node.close();
    }
  });

  test("a reading accepted into the window sealed again that the attestation lacks: the batch becomes the record, and that reading is attested as a correction of it, provable, once", async () => {
    const { meter, start, first, lost, attested } = await attestedAfterBackup("leftover", "ktda-chinga");
    // restarted with a long grace: the restored window is open again, and a device flushing its
    // buffer sends a reading of it that the attested bundle does not hold
    let node = await start({ graceS: 3_600 });
    let leftover: string;
    try {
      const ts = node.storage.getReading(first)!.ts;
      leftover = await stored(readingPoster(node, meter), electricity(meter, { ts }));
      const regular = node.storage.getReading(first)!.batchId;
      assert.equal(node.storage.getReading(leftover)!.batchId, regular, "in the window's regular batch");
    } finally {
      await node.close();
    }
    node = await start();
    try {
      for (const digest of [first, ...lost]) {
        const view = await waitForConfirmed(node.httpUrl!, digest, 60_000);
        assert.equal(view.attestationId, attested.attestationId, "the attested batch, not a new one");
      }
      const view = await waitForConfirmed(node.httpUrl!, leftover, 60_000);
      assert.notEqual(view.attestationId, attested.attestationId);
      assert.equal(await verifiesOnChain(view), true, "the leftover's proof verifies on-chain");
      const record = node.storage.getBatchByAttestation(attested.attestationId)!;
      assert.deepEqual([record.state, record.readingCount], ["confirmed", 3]);
      const correction = node.storage.getBatch(view.batch.id)!;
      assert.equal(correction.correctionOfBatch, record.id, "a correction of the adopted batch");
      assert.equal(correction.readingCount, 1);
      assert.equal(headerFromJson(correction.headerJson!).correctionOf, attested.attestationId);
      assert.deepEqual(
        node.storage.listBatches({ facilityId: meter.facilityId }).map((b) => b.state),
        ["confirmed", "confirmed"],
        "nothing failed, nothing else sent",
      );
    } finally {
      await node.close();
    }
  });

  test("its attestation revoked since: the batch is not taken as the record, fails saying so, and retry is refused for the same reason", async () => {
    const { start, lost, attested } = await attestedAfterBackup("revoked", "ktda-kagwe");
    // the verifier revokes the window's attestation (the deployment's admin made verifier)
    const write = async (functionName: string, args: unknown[]) => {
      const hash = await dep.wallet.writeContract({
        address: dep.attestationRegistry,
        abi: dep.abis.attestationRegistry,
        functionName,
        args,
        account: dep.admin,
        chain: dep.wallet.chain,
      });
      assert.equal((await dep.publicClient.waitForTransactionReceipt({ hash })).status, "success", functionName);
    };
    await write("grantRole", [keccak256(toHex("VERIFIER_ROLE")), dep.admin.address]);
    await write("revoke", [attested.attestationId, "test: meter found miscalibrated"]);
    const node = await start();
    try {
      const failed = await waitFor(
        () => node.storage.listBatches({ facilityId: "ktda-kagwe" }).find((b) => b.state === "failed") ?? null,
        { timeoutMs: 60_000, intervalMs: 100, what: "the re-sealed batch failed" },
      );
      assert.match(
        failed.error ?? "",
        new RegExp(
          `nor taken as that attestation's record \\(attestation ${attested.attestationId} of its period was revoked\\)`,
        ),
      );
      assert.doesNotMatch(failed.error ?? "", /carbonproof-oracle pin FILE/, "a bundle would not help");
      assert.equal(node.storage.getReading(lost[0]!), null, "nothing taken from a revoked attestation");
      const admin = createApiKey(node.storage, { scope: "admin", subject: "restore-test" }).key;
      const res = await fetch(`${node.httpUrl}/v1/admin/batches/${failed.id}/retry`, {
        method: "POST",
        headers: { "x-api-key": admin },
      });
      assert.equal(res.status, 409);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, "REGISTRY_PAST");
      assert.match(body.message, new RegExp(`attestation ${attested.attestationId} of its period was revoked`));
    } finally {
      await node.close();
    }
  });

  test("on Kubo, its bundle lost with the node's repository: searched for on the network beside the ticks (Kubo failing mid-search is an attempt, searched again); not found there either, the batch fails saying so; pinned by a peer, retry finds it on the network and takes the batch as the record", async () => {
    const kubo = new KuboStandIn();
    // a short search of the network: the stand-in's never ends for a block no peer holds
    const ipfs = { mode: "kubo" as const, kuboUrl: await kubo.start(), timeoutMs: 4_000 };
    try {
      const { start, first, lost, attested } = await attestedAfterBackup("kubo", "ktda-kubo-facility", ipfs);
      const bundle = kubo.blocks.get(attested.bundleCid);
      assert.ok(bundle && kubo.pins.has(attested.bundleCid), "the node pinned its bundle to Kubo");
      kubo.blocks.clear();
      kubo.pins.clear();
      const node = await start();
      try {
        // the search of the network runs beside the pipeline: its ticks (sealing, pinning, following
        // other batches) go on meanwhile, and the batch says what it waits for
        await waitFor(() => kubo.searching > 0, { timeoutMs: 60_000, intervalMs: 20, what: "a search of the network" });
        const searchingSince = Date.now();
        await waitFor(() => node.pipeline.lastTickOkMs > searchingSince, {
          timeoutMs: 3_000,
          intervalMs: 20,
          what: "a whole pipeline tick during the search",
        });
        assert.ok(kubo.searching > 0, "the search still runs: the tick did not wait for it");
        const waiting = node.storage
          .listBatches({ facilityId: "ktda-kubo-facility" })
          .find((b) => b.state === "signed");
        assert.match(waiting?.error ?? "", new RegExp(`searching the IPFS network for bundle ${attested.bundleCid}`));
        assert.equal(waiting?.attempts, 0, "a search under way is not a failed attempt");
        // Kubo failing during the search is a failure to look, not "not found": an attempt, and looked again
        assert.equal(kubo.dropSearches(), 1);
        const retried = await waitFor(
          () => {
            const b = node.storage.getBatch(waiting!.id);
            return b && b.attempts >= 1 ? b : null;
          },
          { timeoutMs: 10_000, intervalMs: 20, what: "the failed search counted as an attempt" },
        );
        assert.equal(retried.state, "signed", retried.error ?? "");
        assert.equal(retried.attempts, 1, "the dropped search is the one attempt counted");
        assert.doesNotMatch(retried.error ?? "", /nor found on the IPFS network/);
        await waitFor(() => kubo.searching > 0, { timeoutMs: 30_000, intervalMs: 20, what: "a second search" });
        const searches = () =>
          kubo.callsTo("block/get").filter((q) => q.get("arg") === attested.bundleCid && q.get("offline") === null);
        assert.equal(searches().length, 2, "searched the network again after the drop");
        const failed = await waitFor(
          () =>
            node.storage.listBatches({ facilityId: "ktda-kubo-facility" }).find((b) => b.state === "failed") ?? null,
          { timeoutMs: 60_000, intervalMs: 100, what: "the re-sealed batch failed" },
        );
        assert.match(
          failed.error ?? "",
          new RegExp(
            `bundle ${attested.bundleCid} is not in this node's IPFS store, nor found on the IPFS network within ipfs.timeoutMs`,
          ),
        );
        assert.match(failed.error ?? "", new RegExp(`\`carbonproof-oracle pin FILE\` then \`retry ${failed.id}\``));
        const asked = kubo.callsTo("block/get").filter((q) => q.get("arg") === attested.bundleCid);
        assert.deepEqual(
          asked.slice(0, 2).map((q) => q.get("offline")),
          ["true", null],
          "its own blocks first, then the network",
        );

        // another node of the quorum pinned the bundle: found on the network, no `pin` needed
        kubo.network.set(attested.bundleCid, bundle);
        const admin = createApiKey(node.storage, { scope: "admin", subject: "restore-test" }).key;
        const res = await fetch(`${node.httpUrl}/v1/admin/batches/${failed.id}/retry`, {
          method: "POST",
          headers: { "x-api-key": admin },
        });
        assert.equal(res.status, 200, await res.clone().text());
        for (const digest of [first, ...lost]) {
          const view = await waitForConfirmed(node.httpUrl!, digest, 60_000);
          assert.equal(view.attestationId, attested.attestationId);
          assert.equal(await verifiesOnChain(view), true, `the proof of ${digest} verifies on-chain`);
        }
        for (const digest of lost) assert.equal(node.storage.getReading(digest)?.source, "bundle");
        assert.ok(kubo.pins.has(attested.bundleCid), "the node's Kubo holds the bundle again, pinned");
      } finally {
        await node.close();
      }
    } finally {
      await kubo.stop();
    }
  });

  test("on Kubo, a node stopped while it searches the network for a lost bundle stops at once: the stop aborts the search (its request ends), not after ipfs.timeoutMs; the batch is still waiting at the next start", async () => {
    const kubo = new KuboStandIn();
    // a search that would run 10 minutes: only the stop can end it within the test
    const ipfs = { mode: "kubo" as const, kuboUrl: await kubo.start(), timeoutMs: 600_000 };
    try {
      const { start, attested } = await attestedAfterBackup("stop", "ktda-stop-facility", ipfs);
      kubo.blocks.clear();
      kubo.pins.clear();
      const node = await start();
      let closed = false;
      try {
        await waitFor(() => kubo.searching > 0, { timeoutMs: 60_000, intervalMs: 20, what: "a search of the network" });
        const stopping = Date.now();
        await node.close();
        closed = true;
        const tookMs = Date.now() - stopping;
        assert.ok(tookMs < 15_000, `the node stopped in ${tookMs} ms, not after the search's timeout`);
        await waitFor(() => kubo.searching === 0, {
          timeoutMs: 5_000,
          intervalMs: 20,
          what: "the search's request ended",
        });
      } finally {
        if (!closed) await node.close();
      }
      // the stop is not an attempt, and not "not found": the batch still waits for its bundle
      const again = await start();
      try {
        const waiting = again.storage
          .listBatches({ facilityId: "ktda-stop-facility" })
          .find((b) => b.state === "signed");
        assert.ok(waiting, "the batch is still signed, awaiting adoption");
        assert.equal(waiting.attempts, 0, "stopping the search was not counted as an attempt");
        assert.doesNotMatch(waiting.error ?? "", /nor found on the IPFS network/);
        assert.ok(attested.bundleCid);
      } finally {
        await again.close();
      }
    } finally {
      await kubo.stop();
    }
  });

  test("on Kubo, at most ipfs.networkSearches searches of the network run at once: another batch's waits its turn (not an attempt, saying so), the stop ends it at once, never started, and it starts once the running one ends", async () => {
    const kubo = new KuboStandIn();
    // searches no timeout ends within the test: only a bundle found or the stop ends one
    const ipfs = { mode: "kubo" as const, kuboUrl: await kubo.start(), timeoutMs: 600_000, networkSearches: 1 };
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, kubo.searching)), 10);
    try {
      const a = await attestedAfterBackup("slots", "ktda-slots-a", ipfs, ["ktda-slots-b"]);
      const windows = [a, ...a.others];
      const bundles = new Map(windows.map((w) => [w.attested.bundleCid, kubo.blocks.get(w.attested.bundleCid)!]));
      kubo.blocks.clear();
      kubo.pins.clear();
      const searchesFor = (cid: string) =>
        kubo.callsTo("block/get").filter((q) => q.get("arg") === cid && q.get("offline") === null).length;
      /** The window whose batch searches the network, and the one whose batch waits for the slot (and that batch). */
      const oneSearching = (node: Awaited<ReturnType<typeof a.start>>) =>
        waitFor(
          () => {
            const batches = windows.map((w) =>
              node.storage.listBatches({ facilityId: w.meter.facilityId }).find((b) => b.state === "signed")!,
            );
            const says = (text: string) =>
              windows.findIndex((w, i) => batches[i]?.error?.startsWith(`${text} ${w.attested.bundleCid}`));
            const [running, waiting] = [
              says("searching the IPFS network for bundle"),
              says(
                "waiting for one of the ipfs.networkSearches (1) search slots to search the IPFS network for bundle",
              ),
            ];
            // both searching at once (no cap) ends the wait at once, failed below
            if (most > 1) return { running: windows[0]!, waiting: windows[1]!, batch: batches[1]! };
            return running >= 0 && waiting >= 0
              ? { running: windows[running]!, waiting: windows[waiting]!, batch: batches[waiting]! }
              : null;
          },
          { timeoutMs: 60_000, intervalMs: 20, what: "one batch searching the network, the other waiting for a slot" },
        );

      let node = await a.start();
      let closed = false;
      try {
        const turn = await oneSearching(node);
        // a poll of the waiting batch later (SEARCH_POLL_MS), still one search
        await new Promise((r) => setTimeout(r, 1_200));
        assert.equal(most, 1, "never more than ipfs.networkSearches searches at once");
        assert.equal(kubo.searching, 1);
        assert.equal(searchesFor(turn.waiting.attested.bundleCid), 0, "the waiting one has not asked Kubo");
        const waiting = node.storage.getBatch(turn.batch.id)!;
        assert.match(waiting.error ?? "", /^waiting for one of the ipfs\.networkSearches \(1\) search slots/);
        assert.equal(waiting.attempts, 0, "waiting for a slot is not an attempt");
        // the stop ends the waiting search too, at once, and it never starts after
        const stopping = Date.now();
        await node.close();
        closed = true;
        const tookMs = Date.now() - stopping;
        assert.ok(tookMs < 5_000, `the node stopped in ${tookMs} ms`);
        await waitFor(() => kubo.searching === 0, { timeoutMs: 5_000, intervalMs: 20, what: "the search ended" });
        assert.equal(searchesFor(turn.waiting.attested.bundleCid), 0, "the waiting search was never started");
      } finally {
        if (!closed) await node.close();
      }

      node = await a.start();
      try {
        const turn = await oneSearching(node);
        assert.equal(most, 1, "never more than ipfs.networkSearches searches at once");
        assert.equal(node.storage.getBatch(turn.batch.id)!.attempts, 0, "nor after the restart");
        // a peer pins the searched bundle: that search ends with it, and the waiting one starts
        kubo.network.set(turn.running.attested.bundleCid, bundles.get(turn.running.attested.bundleCid)!);
        await waitFor(() => searchesFor(turn.waiting.attested.bundleCid) === 1 && kubo.searching === 1, {
          timeoutMs: 10_000,
          intervalMs: 20,
          what: "the waiting search started",
        });
        const started = await waitFor(
          () => {
            const b = node.storage.getBatch(turn.batch.id)!;
            return b.error?.startsWith(`searching the IPFS network for bundle ${turn.waiting.attested.bundleCid}`)
              ? b
              : null;
          },
          { timeoutMs: 5_000, intervalMs: 20, what: "the batch saying its search runs" },
        );
        assert.equal(started.attempts, 0);
        const view = await waitForConfirmed(node.httpUrl!, turn.running.lost[0]!, 30_000);
        assert.equal(view.attestationId, turn.running.attested.attestationId, "the first found is adopted");
        assert.equal(most, 1, "never more than ipfs.networkSearches searches at once");
      } finally {
        await node.close();
      }
    } finally {
      clearInterval(sampler);
      await kubo.stop();
    }
  });
});
