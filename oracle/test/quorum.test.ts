import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import mqtt from "mqtt";
import { privateKeyToAccount } from "viem/accounts";
import {
  buildBundle,
  bundleCid,
  bundleHeader,
  decodeBundle,
  encodeBundle,
  readingDigestHex,
  recoverQuorumSigners,
  signBatchHeader,
} from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { headerFromJson, headerToJson } from "../src/batch/bundle.ts";
import { attestationRegistryAbi } from "../src/chain/abi.ts";
import { bundleDeviceIds, collectCosignatures } from "../src/quorum/cosign.ts";
import { readingsTopic } from "../src/ingest/mqtt.ts";
import { HardhatNode, ORACLE_KEY, PEER_KEY, deploy, type Deployment, waitForConfirmed } from "./chain-harness.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { KuboStandIn } from "./kubo-standin.ts";
import { tempDir, waitFor } from "./helpers.ts";

/**
 * k-of-n quorum with two real nodes on one Hardhat chain, OracleSet threshold 2: node A seals,
 * pins and signs its batches and asks node B (POST /v1/quorum/cosign) to co-sign; B re-checks the
 * bundle with its own device keys, methodology and facility context before it signs. The
 * attestation goes on-chain only with both signatures.
 */
describe("quorum: two oracle nodes co-sign a batch", { timeout: 180_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  let a: Awaited<ReturnType<typeof testNode>>;
  let b: Awaited<ReturnType<typeof testNode>>;
  let bKey: string;
  const meter = makeDevice("kangaita-meter-1");
  const peer = privateKeyToAccount(PEER_KEY);
  /** A header and bundle as node A sends them: with its own signature of the header and its registry. */
  const fromA = async (body: { header: string; bundle: string }) => {
    const domain = { chainId: 31337, verifyingContract: dep.attestationRegistry };
    const signature = await signBatchHeader(privateKeyToAccount(ORACLE_KEY), headerFromJson(body.header), domain);
    return { ...body, domain, signature };
  };

  const chainConfig = (envName: string) => ({
    enabled: true,
    rpcUrl: hh.url,
    attestationRegistry: dep.attestationRegistry,
    deviceRegistry: dep.deviceRegistry,
    pollMs: 100,
    keystore: { privateKeyEnv: envName },
  });

  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    await dep.setQuorum([peer.address], 2);
    process.env.CP_QUORUM_A_KEY = ORACLE_KEY;
    process.env.CP_QUORUM_B_KEY = PEER_KEY;
    // B: a co-signer that ingests nothing itself; it knows the device (its own directory)
    b = await testNode({
      devices: [deviceInfo(meter)],
      // the quorum's batching (a period is co-signed once it ended graceS ago)
      config: { mqtt: { mode: "off" }, batching: { windowS: 2, graceS: 1 }, chain: chainConfig("CP_QUORUM_B_KEY") },
    });
    bKey = createApiKey(b.storage, {
      scope: "oracle",
      subject: privateKeyToAccount(ORACLE_KEY).address,
      label: "oracle node A",
    }).key;
  });
  after(async () => {
    await a?.close();
    await b?.close();
    delete process.env.CP_QUORUM_A_KEY;
    delete process.env.CP_QUORUM_B_KEY;
    await hh?.stop();
  });

  const startA = (peers: { url: string; apiKey?: string }[]) =>
    testNode({
      devices: [deviceInfo(meter)],
      config: {
        batching: { windowS: 2, graceS: 1, tickMs: 100, retryBaseMs: 100, retryMaxMs: 500 },
        chain: chainConfig("CP_QUORUM_A_KEY"),
        quorum: { peers, timeoutMs: 10_000 },
      },
    });

  const startAIn = (dir: string, peers: { url: string; apiKey?: string }[]) =>
    testNode({
      dir,
      devices: [deviceInfo(meter)],
      config: {
        batching: { windowS: 2, graceS: 1, tickMs: 100, retryBaseMs: 100, retryMaxMs: 500 },
        chain: chainConfig("CP_QUORUM_A_KEY"),
        quorum: { peers, timeoutMs: 10_000 },
      },
    });

  const publish = async (n: number) => {
    const client = await mqtt.connectAsync(a.mqtt!.url, { reconnectPeriod: 0 });
    const envs = Array.from({ length: n }, () => electricity(meter));
    for (const e of envs) {
      await client.publishAsync(readingsTopic(meter.facilityId, meter.deviceId), JSON.stringify(e), { qos: 1 });
    }
    await client.endAsync();
    return envs;
  };

  test("without an answering peer the batch waits in `pinned` with the reason; nothing is submitted", async () => {
    a = await startA([{ url: "http://127.0.0.1:9", apiKey: "nobody" }]);
    const [env] = await publish(1);
    const batch = await waitFor(
      () => {
        const r = a.storage.getReading(readingDigestHex(env!.reading));
        const bt = r?.batchId != null ? a.storage.getBatch(r.batchId) : null;
        return bt && bt.state === "pinned" && bt.error?.includes("co-signatures: 0 of the 1 needed") ? bt : null;
      },
      { timeoutMs: 30_000, what: "a pinned batch with the co-signing failure" },
    );
    assert.match(batch.error!, /127\.0\.0\.1:9/);
    assert.equal(batch.txHash, null);
    await a.close();
  });

  test("node B re-checks and co-signs; the attestation is confirmed with both signers", async () => {
    a = await startA([{ url: b.httpUrl!, apiKey: bKey }]);
    const envs = await publish(3);
    const digest = readingDigestHex(envs[0]!.reading);
    const view = await waitForConfirmed(a.httpUrl!, digest, 60_000);
    const ok = await dep.publicClient.readContract({
      address: dep.attestationRegistry,
      abi: attestationRegistryAbi,
      functionName: "verifyReading",
      args: [view.attestationId, view.leaf, view.proof],
    });
    assert.equal(ok, true);
    // the signatures the node stored recover to both nodes, sorted as the contract wants them
    const batch = a.storage.listBatches({ states: ["confirmed"] }).find((x) => x.attestationId === view.attestationId)!;
    const signers = await recoverQuorumSigners(
      headerFromJson(batch.headerJson!),
      { chainId: 31337, verifyingContract: dep.attestationRegistry },
      batch.signatures as `0x${string}`,
    );
    const expected = [privateKeyToAccount(ORACLE_KEY).address, peer.address].sort((x, y) =>
      BigInt(x) < BigInt(y) ? -1 : 1,
    );
    assert.deepEqual(signers, expected);
  });

  test("B refuses a header that is not the one its bundle backs, and a bundle of readings it cannot verify", async () => {
    const batch = a.storage.listBatches({ states: ["confirmed"] })[0]!;
    const bundle = Buffer.from((await a.content!.get(headerFromJson(batch.headerJson!).bundleCid))!).toString("utf8");
    // the devices whose keys B looks up for its bundle worker's review
    assert.deepEqual(bundleDeviceIds(bundle), [meter.deviceId]);
    const post = async (body: { header: string; bundle: string }) =>
      fetch(`${b.httpUrl}/v1/quorum/cosign`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": bKey },
        body: JSON.stringify(await fromA(body)),
      });
    // more emissions than the bundle adds up to
    const inflated = JSON.parse(batch.headerJson!) as Record<string, string>;
    inflated.fossilCo2eGrams = String(BigInt(inflated.fossilCo2eGrams!) + 1000n);
    let res = await post({ header: JSON.stringify(inflated), bundle });
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { message: string }).message, /not the ones the bundle backs/);
    // a bundle changed after it was hashed: no longer the CID the header names
    res = await post({ header: batch.headerJson!, bundle: bundle.replace('"energyWh":', '"energyWh":9') });
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { message: string }).message, /bundle hashes to/);
    // a device B does not know (its directory lost it): the signature link cannot be checked
    b.devices.set({ ...deviceInfo(meter), keys: [] });
    res = await post({ header: batch.headerJson!, bundle });
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { message: string }).message, /signature/i);
    b.devices.set(deviceInfo(meter));
    // the very header B co-signed: signed again (a requester that lost the answer)
    res = await post({ header: batch.headerJson!, bundle });
    assert.equal(res.status, 200, await res.clone().text());
    // another header of the same facility over an overlapping period (the same readings, a period
    // starting a second earlier): an alternative to the one B signed, refused with 409 naming it
    const decoded = decodeBundle(Buffer.from(bundle, "utf8"));
    const rebuilt = (over: { periodStart?: number; correctionOf?: `0x${string}` }) => {
      const b2 = buildBundle({
        facilityId: decoded.facilityId,
        periodStart: over.periodStart ?? decoded.period.start,
        periodEnd: decoded.period.end,
        methodologyId: decoded.methodologyId,
        factorSet: decoded.factorSet,
        facilityContext: decoded.facilityContext,
        envelopes: decoded.readings.map((r) => r.envelope),
        ...(over.correctionOf ? { correctionOf: over.correctionOf } : {}),
      } as Parameters<typeof buildBundle>[0]);
      const bytes = encodeBundle(b2);
      return { header: headerToJson(bundleHeader(b2, bundleCid(bytes))), bundle: Buffer.from(bytes).toString("utf8") };
    };
    res = await post(rebuilt({ periodStart: decoded.period.start - 1 }));
    assert.equal(res.status, 409, await res.clone().text());
    let answer = (await res.json()) as { error: string; message: string };
    assert.equal(answer.error, "COSIGN_CONFLICT");
    assert.match(answer.message, new RegExp(`already co-signed ${batch.attestationId}`));
    // a "correction" of the confirmed attestation holding its own readings: B reads the original
    // from the registry; without its bundle it cannot check the readings and says so (503)...
    const double = rebuilt({ correctionOf: batch.attestationId as `0x${string}` });
    res = await post(double);
    assert.equal(res.status, 503);
    assert.match(((await res.json()) as { message: string }).message, /cannot read the original .*retry once/);
    // ...with it pinned there, it refuses the double count
    await b.content!.addAndPin(Buffer.from(bundle, "utf8"));
    res = await post(double);
    assert.equal(res.status, 422);
    assert.match(((await res.json()) as { message: string }).message, /already in the original attestation/);
    // a correction of an attestation the registry does not hold
    res = await post(rebuilt({ correctionOf: `0x${"ab".repeat(32)}` }));
    assert.equal(res.status, 422);
    answer = (await res.json()) as { error: string; message: string };
    assert.match(answer.message, /the registry holds no attestation 0xabab/);
    // without B's key
    res = await fetch(`${b.httpUrl}/v1/quorum/cosign`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ header: batch.headerJson, bundle }),
    });
    assert.equal(res.status, 401);
    // an oracle key may ask for co-signatures and for nothing else
    res = await fetch(`${b.httpUrl}/v1/admin/api-keys`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": bKey },
      body: JSON.stringify({ scope: "admin", subject: "ops" }),
    });
    assert.equal(res.status, 403);
  });

  test("a co-sign review longer than the lead's quorum.timeoutMs (C searching its Kubo's peers for the original's bundle) runs on after the lead's request timed out: once a peer has the bundle C signs, and the lead's retry gets C's signature at once, with no second review", async () => {
    const kubo = new KuboStandIn();
    process.env.CP_QUORUM_C_KEY = PEER_KEY;
    // C: a co-signer like B, on a Kubo node that holds nothing (so reading a bundle searches its peers)
    const c = await testNode({
      devices: [deviceInfo(meter)],
      config: {
        mqtt: { mode: "off" },
        batching: { windowS: 2, graceS: 1 },
        chain: chainConfig("CP_QUORUM_C_KEY"),
        ipfs: { mode: "kubo", kuboUrl: await kubo.start(), timeoutMs: 10_000 },
      },
    });
    try {
      const cKey = createApiKey(c.storage, {
        scope: "oracle",
        subject: privateKeyToAccount(ORACLE_KEY).address,
        label: "oracle node A",
      }).key;
      const batch = a.storage.listBatches({ states: ["confirmed"] })[0]!;
      const bundleBytes = (await a.content!.get(headerFromJson(batch.headerJson!).bundleCid))!;
      const decoded = decodeBundle(bundleBytes);
      // a correction of the confirmed attestation with a late reading: C must read the original's
      // bundle to review it
      const correction = buildBundle({
        facilityId: decoded.facilityId,
        periodStart: decoded.period.start,
        periodEnd: decoded.period.end,
        methodologyId: decoded.methodologyId,
        factorSet: decoded.factorSet,
        facilityContext: decoded.facilityContext,
        envelopes: [electricity(meter, { ts: decoded.period.start })],
        correctionOf: batch.attestationId as `0x${string}`,
      } as Parameters<typeof buildBundle>[0]);
      const bytes = encodeBundle(correction);
      const header = bundleHeader(correction, bundleCid(bytes));
      const domain = { chainId: 31337, verifyingContract: dep.attestationRegistry };
      const lead = privateKeyToAccount(ORACLE_KEY);
      // A's side (collectCosignatures), as its pipeline asks, with quorum.timeoutMs `timeoutMs`
      const ask = async (timeoutMs: number) =>
        collectCosignatures({
          peers: [{ url: c.httpUrl!, apiKey: cKey }],
          header,
          bundle: bytes,
          domain,
          self: lead.address,
          signature: await signBatchHeader(lead, header, domain),
          // the lead's OracleSet read of its peers' signers (not under test here): C's key is a node's
          isActiveOracle: async (who) => who === peer.address,
          timeoutMs,
        });
      const asked = ask(3_000);
      await waitFor(() => kubo.searching > 0, { timeoutMs: 30_000, intervalMs: 20, what: "C searching its peers" });
      const first = await asked;
      assert.deepEqual(first.signed, []);
      assert.match(first.problems.join("; "), /timeout/i, "the lead's request timed out");
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(kubo.searching, 1, "C's search goes on without the request");
      kubo.network.set(batch.bundleCid!, bundleBytes); // a peer has the original's bundle now
      await waitFor(() => c.storage.listCosigns({}).length === 1, {
        timeoutMs: 10_000,
        intervalMs: 20,
        what: "C's review run on to its end, the correction co-signed",
      });
      const retry = await ask(1_000); // answered at once: no review of its own
      assert.deepEqual(retry.problems, []);
      assert.deepEqual(
        retry.signed.map((s) => s.signer),
        [peer.address],
      );
      const reads = kubo.callsTo("block/get").filter((q) => q.get("arg")?.includes(batch.bundleCid!));
      assert.equal(reads.length, 1, "one read of the original's bundle: the retry had no review of its own");
      assert.equal(c.storage.listCosigns({}).length, 1);
    } finally {
      await c.close();
      await kubo.stop();
      delete process.env.CP_QUORUM_C_KEY;
    }
  });

  test("signatures the OracleSet refuses (a node signing alone with no peers at threshold 2) are collected again: once B is configured, the same batch is co-signed and confirmed", async () => {
    await a?.close();
    const tmp = tempDir();
    try {
      // no peers: A signs alone (it cannot ask anyone), and the registry refuses one signature of 2
      a = await testNode({
        dir: tmp.dir,
        devices: [deviceInfo(meter)],
        config: {
          batching: { windowS: 2, graceS: 1, tickMs: 100, retryBaseMs: 100, retryMaxMs: 500 },
          chain: chainConfig("CP_QUORUM_A_KEY"),
        },
      });
      const [env] = await publish(1);
      const digest = readingDigestHex(env!.reading);
      const refused = await waitFor(
        () => {
          const r = a.storage.getReading(digest);
          const bt = r?.batchId != null ? a.storage.getBatch(r.batchId) : null;
          return bt?.error?.includes("OracleSetQuorumNotReached") ? bt : null;
        },
        { timeoutMs: 30_000, what: "the batch's refusal by the OracleSet" },
      );
      // back to be signed again, not stuck in `signed` re-sending the one signature for ever
      assert.match(
        refused.error!,
        /refused the batch's signatures \(OracleSetQuorumNotReached\): collecting them again/,
      );
      await a.close();
      // the operator configures B: the same batch, from the same database, goes on-chain with both
      a = await startAIn(tmp.dir, [{ url: b.httpUrl!, apiKey: bKey }]);
      const view = await waitForConfirmed(a.httpUrl!, digest, 60_000);
      const confirmed = a.storage.getBatch(refused.id)!;
      assert.equal(confirmed.state, "confirmed");
      assert.equal(confirmed.attestationId, view.attestationId);
      const signers = await recoverQuorumSigners(
        headerFromJson(confirmed.headerJson!),
        { chainId: 31337, verifyingContract: dep.attestationRegistry },
        confirmed.signatures as `0x${string}`,
      );
      assert.equal(signers.length, 2);
      assert.ok(signers.includes(peer.address));
    } finally {
      await a.close();
      tmp.cleanup();
    }
  });
});
