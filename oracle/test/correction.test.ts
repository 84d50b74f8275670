import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import {
  BaseError,
  ContractFunctionRevertedError,
  decodeFunctionData,
  keccak256,
  toHex,
  zeroHash,
  type Hex,
} from "viem";
import {
  decodeBundle,
  hashBatchHeader,
  idToBytes32,
  leafHash,
  readingDigestHex,
  verifyAttestation,
  type BatchHeader,
  type BundleSource,
  type Envelope,
  type VerifyReport,
} from "../../sdk/src/index.ts";
import { headerFromJson } from "../src/batch/bundle.ts";
import { createApiKey } from "../src/api/keys.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import type { Batch, OperatorOutcome } from "../src/storage/types.ts";
import {
  HardhatNode,
  chainTestNode,
  deploy,
  pauseRegistryAhead,
  readingPoster,
  waitForConfirmed,
  type ConfirmedReading,
  type Deployment,
} from "./chain-harness.ts";
import { flueGas, makeDevice, type TestDevice, type testNode } from "./fixtures.ts";
import { waitFor } from "./helpers.ts";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = join(dirname(fileURLToPath(import.meta.url)), "../src/cli/main.ts");

type Node = Awaited<ReturnType<typeof testNode>>;

/**
 * Late readings end to end on a real Hardhat node with the contracts deployed: a reading that
 * arrives after its window's regular batch was sealed goes into a correction batch of that
 * window, which is submitted with AttestationRegistry.submitCorrection once the regular batch is
 * confirmed (docs/oracle.md, "Batches, attestation and recovery"; docs/protocol.md, "No reading
 * is attested twice"). Windows are 2 s with 1 s grace (chainTestNode); each test has a facility
 * of its own, so its batches are its own.
 */
describe("correction batches on a Hardhat node", { timeout: 600_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let node: Node;
  const meters = {
    attested: makeDevice("late-chimney-1", "corr-attested"),
    waits: makeDevice("late-chimney-2", "corr-waits"),
    second: makeDevice("late-chimney-3", "corr-second"),
    rules: makeDevice("late-chimney-4", "corr-rules"),
    stranded: makeDevice("late-chimney-5", "corr-stranded"),
    held: makeDevice("late-chimney-6", "corr-held"),
    given: makeDevice("late-chimney-7", "corr-given"),
    back: makeDevice("late-chimney-13", "corr-back"),
    // two devices of one facility back-filling after a shared outage, one slower than the other
    fast: makeDevice("late-chimney-8", "corr-backfill"),
    slow: makeDevice("late-chimney-9", "corr-backfill"),
    // held, given and back again, for the runs over the admin HTTP API
    apiHeld: makeDevice("late-chimney-10", "corr-api-held"),
    apiGiven: makeDevice("late-chimney-11", "corr-api-given"),
    apiBack: makeDevice("late-chimney-12", "corr-api-back"),
  };
  const domain = () => ({ chainId: 31337, verifyingContract: dep.attestationRegistry });

  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    // all registrations up front: one test mines its blocks by hand
    for (const d of Object.values(meters)) await dep.registerDevice(d.deviceId, d.facilityId, d.publicKey, 0);
    // the admin may pause the registry (one test makes a submission revert that way)
    const grant = await dep.wallet.writeContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "grantRole",
      args: [keccak256(toHex("PAUSER_ROLE")), dep.admin.address],
      account: dep.admin,
      chain: dep.wallet.chain,
    });
    assert.equal((await dep.publicClient.waitForTransactionReceipt({ hash: grant })).status, "success");
    node = await chainTestNode(hh, dep);
  });
  after(async () => {
    await node?.close();
    await hh?.stop();
  });

  const digestOf = (e: Envelope) => readingDigestHex(e.reading);
  const batchOfReading = (digest: string): Batch | null => {
    const r = node.storage.getReading(digest);
    return r?.batchId == null ? null : node.storage.getBatch(r.batchId);
  };
  /** The reading's confirmed proof view; on a timeout, says where its batch got stuck and why. */
  const confirmed = async (digest: string): Promise<ConfirmedReading> => {
    try {
      return await waitForConfirmed(node.httpUrl!, digest, 90_000);
    } catch (err) {
      const b = batchOfReading(digest);
      throw new Error(
        `${(err as Error).message}; its batch ${b?.id} (correction of ${b?.correctionOfBatch}) is ${b?.state}` +
          (b?.error ? `: ${b.error}` : ""),
        { cause: err },
      );
    }
  };
  const mine = () => hh.rpc("evm_mine");
  /** Mines blocks until batch `id` is confirmed or failed; on a timeout, says where it is and why. */
  const mineUntilDone = async (id: number): Promise<Batch> => {
    try {
      return await waitFor(
        async () => {
          const b = node.storage.getBatch(id)!;
          if (b.state === "confirmed" || b.state === "failed") return b;
          await mine();
          return null;
        },
        { timeoutMs: 120_000, intervalMs: 250, what: `batch ${id} confirmed or failed` },
      );
    } catch (err) {
      const b = node.storage.getBatch(id);
      throw new Error(`${(err as Error).message}; it is ${b?.state}${b?.error ? `: ${b.error}` : ""}`, { cause: err });
    }
  };
  /** With automine off: posts `first` and waits until its regular batch's transaction is in the mempool. */
  const submittedUnmined = async (post: ReturnType<typeof readingPoster>, first: Envelope): Promise<Batch> => {
    assert.equal((await post(first)).status, 201);
    return waitFor(
      () => {
        const b = batchOfReading(digestOf(first));
        return b?.state === "submitted" ? b : null;
      },
      { timeoutMs: 60_000, intervalMs: 50, what: "the regular batch submitted" },
    );
  };
  /** Pauses the registry with a far higher tip than the node's, so that it is mined ahead of a pending submission. */
  const pauseRegistry = () => pauseRegistryAhead(dep);
  const unpauseRegistry = async () => {
    const hash = await dep.wallet.writeContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "unpause",
      account: dep.admin,
      chain: dep.wallet.chain,
    });
    await dep.publicClient.waitForTransactionReceipt({ hash });
  };
  /** `carbonproof-oracle ARGS` on the running node's data dir and chain (a config file of the test's own). */
  const oracleCli = async (args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const config = join(node.dir, "cli-config.json");
    writeFileSync(
      config,
      JSON.stringify({
        dataDir: node.common.config.dataDir,
        chain: { enabled: true, rpcUrl: hh.url, attestationRegistry: dep.attestationRegistry },
      }),
    );
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("CARBONPROOF_")) env[k] = v;
    const child = spawn(process.execPath, ["--disable-warning=ExperimentalWarning", CLI, ...args, "--config", config], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const [code] = (await once(child, "close")) as [number | null];
    return { code, stdout, stderr };
  };
  /** `POST path` on the node with an admin key (or `key`: another key, or none). */
  const adminPost = async (path: string, key: string | null = adminKey()) => {
    const res = await fetch(`${node.httpUrl}${path}`, { method: "POST", headers: key ? { "x-api-key": key } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  let admin: string | null = null;
  const adminKey = () => (admin ??= createApiKey(node.storage, { scope: "admin", subject: "ops" }).key);
  /** With automine off: `first`'s regular batch submitted, then reverted by a pause mined ahead of it. */
  const failedByPause = async (post: ReturnType<typeof readingPoster>, first: Envelope): Promise<Batch> => {
    await hh.rpc("evm_setAutomine", [false]);
    try {
      const regular = await submittedUnmined(post, first);
      await pauseRegistry();
      const failed = await mineUntilDone(regular.id);
      assert.equal(failed.state, "failed", "the regular batch's submission reverted");
      return failed;
    } finally {
      await mine();
      await hh.rpc("evm_setAutomine", [true]);
    }
  };
  /** `carbonproof_oracle_batches_holding` from the node's /metrics (and `holding` of /v1/status). */
  const holding = async () => {
    const text = await (await fetch(`${node.httpUrl}/metrics`)).text();
    const m = /^carbonproof_oracle_batches_holding (\d+)$/m.exec(text);
    assert.ok(m, "/metrics has carbonproof_oracle_batches_holding");
    const status = (await (await fetch(`${node.httpUrl}/v1/status`)).json()) as { holding: number };
    assert.equal(status.holding, Number(m[1]), "/v1/status and /metrics agree");
    return Number(m[1]);
  };
  /** Waits until the batch of `digest` exists and is held back by batch `by` (its error says so). */
  const heldBy = (digest: string, by: number) =>
    waitFor(
      () => {
        const b = batchOfReading(digest);
        return b?.error?.includes(`waits for regular batch ${by} `) ? b : null;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `a later batch held by failed batch ${by}` },
    );

  /** Resolves once a pipeline tick that started after now has finished (it saw storage as it is now). */
  const nextTick = async () => {
    const now = Date.now();
    await waitFor(() => node.pipeline.lastTickOkMs > now, { timeoutMs: 30_000, what: "a full pipeline tick" });
  };
  const verifyReadingOnChain = (attestationId: Hex, leaf: Hex, proof: Hex[]) =>
    dep.publicClient.readContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "verifyReading",
      args: [attestationId, leaf, proof],
    });
  /** The call of the transaction that attested `b`, decoded. */
  const callOf = async (b: Batch) => {
    const tx = await dep.publicClient.getTransaction({ hash: b.txHash as Hex });
    return decodeFunctionData({ abi: attestationRegistryAbi, data: tx.input });
  };
  /** The node's own Helia store as the sdk verifier's bundle source (the real store, by CID). */
  const nodeStore = (): BundleSource => ({
    describe: "the oracle node's Helia store",
    byCid: true,
    async get(cid) {
      const bytes = await node.content!.get(cid);
      if (!bytes) throw new Error(`bundle ${cid} is not in the oracle node's Helia store`);
      return bytes;
    },
  });
  const sdkVerify = (target: { envelope: Envelope } | { attestationId: Hex }) =>
    verifyAttestation({
      client: dep.publicClient,
      registry: dep.attestationRegistry,
      deviceRegistry: dep.deviceRegistry,
      target,
      source: nodeStore(),
    });
  const failedChecks = (r: VerifyReport) =>
    r.checks
      .filter((c) => !c.ok)
      .map((c) => `${c.link}: ${c.detail}`)
      .join("; ");
  const check = (r: VerifyReport, link: string) => {
    const c = r.checks.find((x) => x.link === link);
    assert.ok(c, `the verifier ran "${link}"`);
    return c;
  };
  /**
   * Every reading digest in the facility's attestations on-chain (their bundles read from the
   * node's store), with the attestations holding it: "exactly one" means nothing lost, nothing twice.
   */
  const attestedIn = async (facilityId: string): Promise<Map<string, Hex[]>> => {
    const events = await dep.publicClient.getContractEvents({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      eventName: "AttestationSubmitted",
      args: { facilityId: idToBytes32(facilityId) },
      fromBlock: 0n,
    });
    const out = new Map<string, Hex[]>();
    for (const ev of events) {
      const bytes = await nodeStore().get(ev.args.header!.bundleCid);
      for (const r of decodeBundle(bytes).readings) out.set(r.digest, [...(out.get(r.digest) ?? []), ev.args.id!]);
    }
    return out;
  };
  /** The revert a registry call would end in (simulated as the oracle node, which may submit). */
  const revertOf = async (
    call:
      | { functionName: "submit"; args: readonly [BatchHeader, Hex] }
      | { functionName: "submitCorrection"; args: readonly [BatchHeader, BatchHeader, Hex] },
  ): Promise<{ errorName: string; args: readonly unknown[] }> => {
    try {
      await dep.publicClient.simulateContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        account: dep.oracle.address,
        ...call,
      } as Parameters<typeof dep.publicClient.simulateContract>[0]);
    } catch (err) {
      const reverted = err instanceof BaseError ? err.walk((e) => e instanceof ContractFunctionRevertedError) : null;
      if (reverted instanceof ContractFunctionRevertedError && reverted.data) {
        return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] };
      }
      throw err;
    }
    throw new Error(`${call.functionName} was accepted by the registry`);
  };

  /**
   * A reading of `d` attested by its window's regular batch, then a reading of the same window
   * (other seq) posted after that: the late one is answered and returned, not waited for.
   */
  async function regularThenLate(d: TestDevice) {
    const post = readingPoster(node, d);
    const first = flueGas(d);
    const stored = await post(first);
    assert.equal(stored.status, 201, JSON.stringify(stored.body));
    await confirmed(digestOf(first));
    const regular = batchOfReading(digestOf(first))!;
    assert.equal(regular.correctionOfBatch, null, "the first reading is in a regular batch");
    const late = flueGas(d, { ts: first.reading.ts });
    const answer = await post(late);
    return { post, first, regular, late, answer };
  }

  test("a reading arriving after its window's batch is confirmed is accepted into a correction of that batch, attested with submitCorrection, and provable on-chain", async () => {
    const d = meters.attested;
    const { first, regular, late, answer } = await regularThenLate(d);
    assert.equal(answer.status, 201, `the late reading is accepted: ${JSON.stringify(answer.body)}`);
    const opened = node.storage.getBatch(answer.body.batchId!)!;
    assert.equal(opened.correctionOfBatch, regular.id, "it lands in a correction of the regular batch");
    assert.deepEqual([opened.periodStart, opened.periodEnd], [regular.periodStart, regular.periodEnd]);

    const view = await confirmed(digestOf(late));
    const correction = node.storage.getBatch(opened.id)!;
    assert.equal(correction.state, "confirmed");
    assert.equal(view.batch.id, correction.id);
    assert.equal(view.batch.correctionOfBatch, regular.id);
    assert.equal(view.attestationId, correction.attestationId, "GET /v1/readings/:digest names the correction");
    assert.notEqual(view.attestationId, regular.attestationId);
    assert.equal(view.bundleCid, correction.bundleCid);
    assert.equal(view.leaf, leafHash(digestOf(late)));
    assert.equal(await verifyReadingOnChain(view.attestationId, view.leaf, view.proof), true, "proof verifies");
    assert.equal(
      await verifyReadingOnChain(regular.attestationId as Hex, view.leaf, view.proof),
      false,
      "the late reading is not under the regular root",
    );

    // on-chain: submitted through submitCorrection, naming the regular attestation and its header
    const call = await callOf(correction);
    assert.equal(call.functionName, "submitCorrection");
    const [header, original] = call.args as readonly [BatchHeader, BatchHeader, Hex];
    assert.equal(header.correctionOf, regular.attestationId);
    assert.equal(hashBatchHeader(original, domain()).toLowerCase(), regular.attestationId);
    assert.equal(hashBatchHeader(header, domain()).toLowerCase(), correction.attestationId);
    assert.equal(
      await dep.publicClient.readContract({
        address: dep.attestationRegistry,
        abi: attestationRegistryAbi,
        functionName: "attestedUntil",
        args: [idToBytes32(d.facilityId)],
      }),
      BigInt(regular.periodEnd),
      "a correction does not move the facility's frontier",
    );

    // the auditor's verifier, from the envelope alone: finds the correction, every link holds
    const report = await sdkVerify({ envelope: late });
    assert.ok(report.ok, failedChecks(report));
    assert.equal(report.attestationId, view.attestationId);
    assert.equal(check(report, "corrected attestation exists").ok, true);
    const history = check(report, "no reading attested twice for the facility");
    assert.ok(history.ok && !history.skipped, history.detail);

    const attested = await attestedIn(d.facilityId);
    assert.deepEqual(attested.get(digestOf(first)), [regular.attestationId]);
    assert.deepEqual(attested.get(digestOf(late)), [correction.attestationId]);
    assert.equal(attested.size, 2);
  });

  test("late readings arriving before the regular batch is confirmed wait in one open correction, sealed only once it is confirmed", async () => {
    const d = meters.waits;
    const post = readingPoster(node, d);
    await hh.rpc("evm_setAutomine", [false]);
    try {
      const first = flueGas(d);
      // sealed after its window and grace, sent, and held unmined in the mempool
      const regular = await submittedUnmined(post, first);
      // the first and the last second of the regular batch's window
      const late = [flueGas(d, { ts: regular.periodStart }), flueGas(d, { ts: regular.periodEnd - 1 })];
      const answer = await post(late);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      assert.equal(answer.body.accepted, 2, JSON.stringify(answer.body));
      const ids = new Set(answer.body.results!.map((r) => r.batchId));
      assert.equal(ids.size, 1, "both late readings are in one batch");
      const correctionId = [...ids][0]!;
      const opened = node.storage.getBatch(correctionId)!;
      assert.equal(opened.correctionOfBatch, regular.id);

      // past the correction's own grace, two whole ticks: still open, as its regular batch is not confirmed
      const graceMs = node.common.config.batching.graceS * 1000;
      await waitFor(() => Date.now() > opened.createdAtMs + graceMs + 200, { timeoutMs: 30_000 });
      await nextTick();
      await nextTick();
      assert.equal(node.storage.getBatch(regular.id)!.state, "submitted");
      assert.equal(node.storage.getBatch(correctionId)!.state, "open", "not sealed before the regular batch confirms");

      // mine until both are confirmed: the regular one's block first, then the correction's
      const done = await mineUntilDone(correctionId);
      assert.equal(done.state, "confirmed", done.error ?? "");
      const regularDone = node.storage.getBatch(regular.id)!;
      assert.equal(regularDone.state, "confirmed");
      assert.ok(done.blockNumber! > regularDone.blockNumber!, "the correction is mined after the regular batch");
      assert.equal(done.readingCount, 2);
      assert.equal((await callOf(done)).functionName, "submitCorrection");
      for (const e of late) {
        const view = await confirmed(digestOf(e));
        assert.equal(view.attestationId, done.attestationId);
        assert.equal(await verifyReadingOnChain(view.attestationId, view.leaf, view.proof), true);
      }
      const attested = await attestedIn(d.facilityId);
      assert.deepEqual(attested.get(digestOf(first)), [regular.attestationId]);
      for (const e of late) assert.deepEqual(attested.get(digestOf(e)), [done.attestationId]);
    } finally {
      await mine();
      await hh.rpc("evm_setAutomine", [true]);
    }
  });

  test("a reading arriving after the first correction is sealed goes into a second correction of the same attestation; no reading is attested twice", async () => {
    const d = meters.second;
    const { post, first, regular, late, answer } = await regularThenLate(d);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    const firstCorrection = (await confirmed(digestOf(late))).attestationId;

    const later = flueGas(d, { ts: first.reading.ts });
    const second = await post(later);
    assert.equal(second.status, 201, `accepted after the first correction: ${JSON.stringify(second.body)}`);
    assert.notEqual(second.body.batchId, answer.body.batchId, "a new correction, not the sealed one");
    assert.equal(node.storage.getBatch(second.body.batchId!)!.correctionOfBatch, regular.id);
    const view = await confirmed(digestOf(later));
    const correction2 = node.storage.getBatch(second.body.batchId!)!;
    assert.notEqual(view.attestationId, firstCorrection);
    assert.equal(await verifyReadingOnChain(view.attestationId, view.leaf, view.proof), true);
    const call = await callOf(correction2);
    assert.equal(call.functionName, "submitCorrection");
    assert.equal((call.args as readonly [BatchHeader, BatchHeader, Hex])[0].correctionOf, regular.attestationId);

    // the late reading sent again is a replay: refused, and no batch is opened for it
    const batchesBefore = node.storage.listBatches({ facilityId: d.facilityId }).length;
    const replay = await post(late);
    assert.equal(replay.status, 422);
    assert.equal(replay.body.reason, "replay");
    await nextTick();
    assert.equal(node.storage.listBatches({ facilityId: d.facilityId }).length, batchesBefore);

    const attested = await attestedIn(d.facilityId);
    assert.deepEqual(attested.get(digestOf(first)), [regular.attestationId]);
    assert.deepEqual(attested.get(digestOf(late)), [firstCorrection]);
    assert.deepEqual(attested.get(digestOf(later)), [view.attestationId]);
    assert.equal(attested.size, 3);
    const report = await sdkVerify({ attestationId: view.attestationId });
    assert.ok(report.ok, failedChecks(report));
    assert.match(check(report, "no reading attested twice for the facility").detail, /2 other attestation\(s\)/);
  });

  test("the registry takes late readings only in a correction inside the attested period, once; a window with no regular batch behind the frontier is too late for any", async () => {
    const d = meters.rules;
    const { post, first, regular, late, answer } = await regularThenLate(d);
    assert.equal(answer.status, 201, JSON.stringify(answer.body));
    await confirmed(digestOf(late));
    const correction = batchOfReading(digestOf(late))!;
    const header = headerFromJson(correction.headerJson!);
    const original = headerFromJson(regular.headerJson!);
    const sigs = correction.signatures as Hex;
    const facility = idToBytes32(d.facilityId);

    // the node's correction, sent as a regular batch, or as a regular batch of the attested period
    assert.equal(
      (await revertOf({ functionName: "submit", args: [header, sigs] })).errorName,
      "AttestationRegistryCorrectionNeedsOriginal",
    );
    const asRegular = await revertOf({ functionName: "submit", args: [{ ...header, correctionOf: zeroHash }, sigs] });
    assert.equal(asRegular.errorName, "AttestationRegistryPeriodOverlap");
    assert.deepEqual(asRegular.args, [facility, original.periodStart, original.periodEnd]);
    // the same correction twice, a correction of the correction, one reaching past the corrected period
    const again = await revertOf({ functionName: "submitCorrection", args: [header, original, sigs] });
    assert.deepEqual(again, { errorName: "AttestationRegistryAlreadyAttested", args: [correction.attestationId] });
    assert.equal(
      (
        await revertOf({
          functionName: "submitCorrection",
          args: [{ ...header, correctionOf: correction.attestationId as Hex }, header, sigs],
        })
      ).errorName,
      "AttestationRegistryOriginalIsCorrection",
    );
    const before = original.periodStart - 2n; // the window before: no reading, so no regular batch
    assert.equal(
      (
        await revertOf({
          functionName: "submitCorrection",
          args: [{ ...header, periodStart: before }, original, sigs],
        })
      ).errorName,
      "AttestationRegistryCorrectionOutsidePeriod",
    );

    // so a reading of that earlier window can be attested by nothing: the node dead-letters it
    const tooLate = flueGas(d, { ts: Number(before) });
    const refused = await post(tooLate);
    assert.equal(refused.status, 422);
    assert.equal(refused.body.reason, "too-late");
    assert.equal(node.storage.getReading(digestOf(tooLate)), null, "not stored");
    const [dead] = node.storage.listDeadLetters({ limit: 1, reason: "too-late", deviceId: d.deviceId });
    assert.equal(dead?.digest, digestOf(tooLate));
    assert.equal(
      (
        await revertOf({
          functionName: "submit",
          args: [{ ...original, periodStart: before, periodEnd: original.periodStart }, sigs],
        })
      ).errorName,
      "AttestationRegistryPeriodOverlap",
      "the registry would refuse a regular batch for it",
    );

    await nextTick();
    const attested = await attestedIn(d.facilityId);
    assert.deepEqual(attested.get(digestOf(first)), [regular.attestationId]);
    assert.deepEqual(attested.get(digestOf(late)), [correction.attestationId]);
    assert.equal(attested.has(digestOf(tooLate)), false);
    assert.equal(attested.size, 2);
    assert.deepEqual(
      node.storage.listBatches({ facilityId: d.facilityId }).map((b) => [b.state, b.correctionOfBatch]),
      [
        ["confirmed", null],
        ["confirmed", regular.id],
      ],
      "no batch opened for the too-late reading",
    );
  });

  test("late readings waiting on a regular batch whose submission fails are not left in an open correction; `retry` sends both", async () => {
    const d = meters.stranded;
    const post = readingPoster(node, d);
    await hh.rpc("evm_setAutomine", [false]);
    let paused = false;
    try {
      const first = flueGas(d);
      const regular = await submittedUnmined(post, first);
      const late = flueGas(d, { ts: regular.periodStart });
      const answer = await post(late);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      const correctionId = answer.body.batchId!;
      assert.equal(node.storage.getBatch(correctionId)!.correctionOfBatch, regular.id);
      // a pause mined ahead of the submission (a far higher tip) makes it revert: the batch fails
      await pauseRegistry();
      paused = true;
      const failed = await mineUntilDone(regular.id);
      assert.equal(failed.state, "failed", "the regular batch's submission reverted");

      // the correction can never be attested now: it must not stay open, silently holding its readings
      const graceMs = node.common.config.batching.graceS * 1000;
      await waitFor(() => Date.now() > node.storage.getBatch(correctionId)!.createdAtMs + graceMs + 200, {
        timeoutMs: 30_000,
      });
      await nextTick();
      await nextTick();
      const correction = node.storage.getBatch(correctionId)!;
      assert.equal(correction.state, "failed", `the correction of failed batch ${regular.id} is ${correction.state}`);
      assert.match(correction.error ?? "", new RegExp(`regular batch ${regular.id}`));

      // the cause fixed, the operator's `retry` of the regular batch takes its correction along
      await mine();
      await hh.rpc("evm_setAutomine", [true]);
      await unpauseRegistry();
      paused = false;
      const early = await oracleCli(["retry", String(correctionId)]);
      assert.equal(early.code, 1, early.stderr);
      assert.match(early.stderr, new RegExp(`retry ${regular.id}, which takes its corrections along`));
      const retried = await oracleCli(["retry", String(regular.id)]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.deepEqual(JSON.parse(retried.stdout), {
        batch: regular.id,
        done: true,
        state: "pinned",
        readings: 1,
        corrections: [correctionId],
        abandonedAt: null,
      });
      assert.equal((await confirmed(digestOf(first))).batch.id, regular.id);
      const fixed = await confirmed(digestOf(late));
      assert.equal(fixed.batch.id, correctionId);
      assert.equal(await verifyReadingOnChain(fixed.attestationId, fixed.leaf, fixed.proof), true);
    } finally {
      await mine();
      await hh.rpc("evm_setAutomine", [true]);
      if (paused) await unpauseRegistry();
    }
  });

  /**
   * What `retry` or `abandon` answered, by either operator path: `out`, the outcome when done (the
   * CLI's stdout, the API's 200 body), else null and the refusal's `reason` (the CLI's stderr, the
   * API's message); `raw` as the path gave it, for the checks of its own.
   */
  type OpAnswer = {
    out: Extract<OperatorOutcome, { done: true }> | null;
    reason: string;
    raw:
      | { path: "CLI"; code: number | null; stderr: string }
      | { path: "admin API"; status: number; body: Record<string, unknown> };
  };
  /** The two ways an operator retries and abandons batches, each checked by the same scenarios. */
  type Operator = {
    name: "CLI" | "admin API";
    /** the scenarios' devices, each of a facility of its own, so that each run's batches are its own */
    devices: { held: TestDevice; given: TestDevice; back: TestDevice };
    retry: (id: number) => Promise<OpAnswer>;
    abandon: (id: number) => Promise<OpAnswer>;
    /** Every failed batch again (`retry --all`, POST /v1/admin/batches/retry-all), none refused: the ids retried. */
    retryAll: () => Promise<number[]>;
    /** Asserts `a` is a refusal as this path gives one (CLI: exit 1; API: 409 with `error`); its reason. */
    refused: (a: OpAnswer, error: string) => string;
    /** Asserts this path's refusals of a call before any batch is looked at (CLI: usage; API: key, scope, id). */
    badCalls: (failed: Batch) => Promise<void>;
  };
  const cliAnswer = async (args: string[]): Promise<OpAnswer> => {
    const r = await oracleCli(args);
    return {
      out: r.code === 0 ? JSON.parse(r.stdout) : null,
      reason: r.code === 0 ? "" : r.stderr,
      raw: { path: "CLI", code: r.code, stderr: r.stderr },
    };
  };
  const apiAnswer = async (path: string): Promise<OpAnswer> => {
    const r = await adminPost(path);
    return {
      out: r.status === 200 ? (r.body as OpAnswer["out"]) : null,
      reason: r.status === 200 ? "" : String(r.body.message),
      raw: { path: "admin API", ...r },
    };
  };
  const operators: Operator[] = [
    {
      name: "CLI",
      devices: { held: meters.held, given: meters.given, back: meters.back },
      retry: (id) => cliAnswer(["retry", String(id)]),
      abandon: (id) => cliAnswer(["abandon", String(id)]),
      retryAll: async () => {
        const r = await oracleCli(["retry", "--all"]);
        assert.equal(r.code, 0, r.stderr);
        const retried = r.stdout
          .split("\n")
          .filter(Boolean)
          .map((line) => (JSON.parse(line) as { batch: number }).batch);
        if (!retried.length) assert.match(r.stderr, /no failed batch to retry/);
        return retried;
      },
      refused: (a) => {
        assert.ok(a.raw.path === "CLI");
        assert.equal(a.raw.code, 1, a.raw.stderr);
        return a.reason;
      },
      badCalls: async () => {
        const usage = await oracleCli(["retry"]);
        assert.equal(usage.code, 2, usage.stderr);
        assert.match(usage.stderr, /needs the ids of the failed batches/);
      },
    },
    {
      name: "admin API",
      devices: { held: meters.apiHeld, given: meters.apiGiven, back: meters.apiBack },
      retry: (id) => apiAnswer(`/v1/admin/batches/${id}/retry`),
      abandon: (id) => apiAnswer(`/v1/admin/batches/${id}/abandon`),
      retryAll: async () => {
        const all = await adminPost("/v1/admin/batches/retry-all");
        assert.equal(all.status, 200, JSON.stringify(all.body));
        assert.deepEqual(all.body.refused, []);
        return (all.body.retried as { batch: number }[]).map((o) => o.batch);
      },
      refused: (a, error) => {
        assert.ok(a.raw.path === "admin API");
        assert.deepEqual([a.raw.status, a.raw.body.error], [409, error], JSON.stringify(a.raw.body));
        return a.reason;
      },
      badCalls: async (failed) => {
        assert.equal((await adminPost(`/v1/admin/batches/${failed.id}/retry`, null)).status, 401);
        const facilityKey = createApiKey(node.storage, { scope: "facility", subject: failed.facilityId }).key;
        assert.equal((await adminPost(`/v1/admin/batches/${failed.id}/retry`, facilityKey)).status, 403);
        assert.equal((await adminPost(`/v1/admin/batches/x${failed.id}/retry`)).status, 400);
      },
    },
  ];
  /** Asserts `a` done; its outcome. */
  const done = (a: OpAnswer) => {
    assert.ok(a.out?.done, `refused: ${a.reason}`);
    return a.out;
  };

  /**
   * `d`'s `first` reading stored, and its regular batch `failed` by a pause of the registry mined
   * ahead of its submission; then `body`, which calls `unpause` once the cause is to be fixed (the
   * registry is unpaused at the end if it did not).
   */
  const withFailedBatch = async (
    d: TestDevice,
    body: (t: {
      post: ReturnType<typeof readingPoster>;
      first: Envelope;
      failed: Batch;
      unpause: () => Promise<void>;
    }) => Promise<void>,
  ) => {
    const post = readingPoster(node, d);
    const first = flueGas(d);
    let paused = true;
    const unpause = async () => {
      await unpauseRegistry();
      paused = false;
    };
    try {
      await body({ post, first, failed: await failedByPause(post, first), unpause });
    } finally {
      if (paused) await unpauseRegistry();
    }
  };

  for (const op of operators) {
    test(`${op.name}: a failed regular batch holds its facility's later batches until \`retry\` sends it again; the refusals say why`, async () => {
      const d = op.devices.held;
      await withFailedBatch(d, async ({ post, first, failed, unpause }) => {
        // a late reading of the failed window is refused (no correction of an unattested batch)...
        const late = await post(flueGas(d, { ts: failed.periodStart }));
        assert.equal(late.status, 422, JSON.stringify(late.body));
        // ...and a reading of a later window is stored, its batch signed, but not sent past the failed one
        const later = flueGas(d);
        assert.equal((await post(later)).status, 201);
        const held = await heldBy(digestOf(later), failed.id);
        assert.match(held.error!, new RegExp(`carbonproof-oracle retry ${failed.id}`));
        assert.ok((await holding()) >= 1, "/metrics counts the failed batch as holding");
        await unpause();
        // the cause is fixed, but only the operator knows that: the later batch still waits
        await nextTick();
        await nextTick();
        const still = batchOfReading(digestOf(later))!;
        assert.ok(["sealed", "pinned", "signed"].includes(still.state), `the later batch is ${still.state}`);
        assert.equal(still.txHash, null);

        await op.badCalls(failed);
        const notFailed = await op.retry(still.id);
        assert.match(
          op.refused(notFailed, "NOT_FAILED"),
          new RegExp(`batch ${still.id} is ${still.state}: only a failed batch is retried`),
        );
        assert.equal(node.storage.getBatch(failed.id)!.state, "failed", "no refusal changed the failed batch");

        assert.deepEqual(done(await op.retry(failed.id)), {
          batch: failed.id,
          done: true,
          state: "pinned",
          readings: 1,
          corrections: [],
          abandonedAt: null,
        });
        // the running pipeline picks it up: attested, then the later one, in period order
        const a = await confirmed(digestOf(first));
        const b = await confirmed(digestOf(later));
        assert.equal(a.batch.id, failed.id);
        assert.notEqual(a.attestationId, b.attestationId);
        for (const r of [a, b]) assert.equal(await verifyReadingOnChain(r.attestationId, r.leaf, r.proof), true);
        const regular = node.storage.getBatch(failed.id)!;
        assert.ok(regular.blockNumber! < node.storage.getBatch(b.batch.id)!.blockNumber!, "attested in period order");
        assert.match(regular.error ?? "", /^$|retried by the operator/);
        assert.equal(await holding(), 0, "/metrics: nothing holds after the retry");
      });
    });

    test(`${op.name}: \`abandon\` stops the holding (0 in /v1/status) and the later batch goes; the registry then has a later period, so \`retry\` is refused`, async () => {
      const d = op.devices.given;
      await withFailedBatch(d, async ({ post, first, failed, unpause }) => {
        const later = flueGas(d);
        assert.equal((await post(later)).status, 201);
        await heldBy(digestOf(later), failed.id);
        assert.ok((await holding()) >= 1);
        await unpause();

        const given = await op.abandon(failed.id);
        const out = done(given);
        assert.equal(out.state, "failed");
        assert.equal(typeof out.abandonedAt, "number");
        if (given.raw.path === "CLI") assert.match(given.raw.stderr, /its 1 readings stay stored and unattested/);
        assert.equal(await holding(), 0, "an abandoned batch holds nothing back");
        const b = await confirmed(digestOf(later));
        assert.notEqual(b.batch.id, failed.id);
        const abandoned = node.storage.getBatch(failed.id)!;
        assert.equal(abandoned.state, "failed");
        assert.equal(abandoned.abandonedAt, out.abandonedAt);
        assert.match(abandoned.error!, /^transaction 0x[0-9a-f]+ reverted/, "the reason it failed stays the error");
        const view = (await (await fetch(`${node.httpUrl}/v1/batches/${failed.id}`)).json()) as Record<string, unknown>;
        assert.equal(view.state, "failed");
        assert.equal(view.abandonedAt, out.abandonedAt);
        assert.match(
          op.refused(await op.abandon(failed.id), "ALREADY_ABANDONED"),
          new RegExp(`batch ${failed.id} was abandoned at .* already: it holds nothing back`),
        );

        assert.match(
          op.refused(await op.retry(failed.id), "REGISTRY_PAST"),
          // its period was never attested (the later one was): nothing to take it as the record of
          /would reject the batch again \(period overlap\), and its 1 readings cannot be attested as a regular batch; no regular attestation of its period was found in the registry's events; it stays abandoned/,
        );
        const kept = node.storage.getBatch(failed.id)!;
        assert.equal(kept.state, "failed", "a refused retry changes nothing");
        assert.equal(kept.abandonedAt, out.abandonedAt);
        assert.deepEqual(await op.retryAll(), [], "an abandoned batch is not retried with all the failed ones");
      });
    });

    test(`${op.name}: a batch abandoned before a later period is attested is taken back by \`retry\`: abandonedAt cleared, attested`, async () => {
      await withFailedBatch(op.devices.back, async ({ first, failed, unpause }) => {
        await unpause();
        done(await op.abandon(failed.id));
        assert.ok(node.storage.getBatch(failed.id)!.abandonedAt !== null);
        assert.deepEqual(await op.retryAll(), [], "an abandoned batch is not retried with all the failed ones");
        assert.equal(done(await op.retry(failed.id)).abandonedAt, null);
        assert.equal((await confirmed(digestOf(first))).batch.id, failed.id);
        const b = node.storage.getBatch(failed.id)!;
        assert.equal(b.abandonedAt, null);
        assert.equal(b.state, "confirmed");
      });
    });
  }

  test("a slower device's back-fill gets its window while the later window's batch is not sent yet, and goes on-chain first", async () => {
    const { fast, slow } = meters;
    const postFast = readingPoster(node, fast);
    const postSlow = readingPoster(node, slow);
    const now = Math.floor(Date.now() / 1000);
    const first = flueGas(fast, { ts: now - 30 });
    const ahead = flueGas(fast, { ts: now - 20 });
    const behind = flueGas(slow, { ts: now - 25 });
    await hh.rpc("evm_setAutomine", [false]);
    try {
      // the fast device's oldest window is in flight; its next window's batch is sealed and signed, held behind it
      await submittedUnmined(postFast, first);
      assert.equal((await postFast(ahead)).status, 201);
      const held = await waitFor(
        () => {
          const b = batchOfReading(digestOf(ahead));
          return b?.state === "signed" ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: "the later window's batch signed and held" },
      );
      // the slow device's reading of the window between: a regular batch of its own, not too-late
      const answer = await postSlow(behind);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      const between = node.storage.getBatch(answer.body.batchId!)!;
      assert.equal(between.correctionOfBatch, null);
      assert.ok(between.periodEnd <= held.periodStart, "its period lies before the held batch's");
      await mineUntilDone(batchOfReading(digestOf(first))!.id);
      await mineUntilDone(between.id);
      await mineUntilDone(held.id);
    } finally {
      await mine();
      await hh.rpc("evm_setAutomine", [true]);
    }
    const proofs = await Promise.all([first, behind, ahead].map((e) => confirmed(digestOf(e))));
    const blocks = proofs.map((p) => node.storage.getBatch(p.batch.id)!.blockNumber!);
    assert.ok(
      blocks[0]! < blocks[1]! && blocks[1]! < blocks[2]!,
      `attested in period order: blocks ${blocks.join(", ")}`,
    );
    for (const p of proofs) assert.equal(await verifyReadingOnChain(p.attestationId, p.leaf, p.proof), true);
  });
});
