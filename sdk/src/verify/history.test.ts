import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import { after, before, test } from "node:test";
import type { Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildBundle, bundleCid, bundleHeader, encodeBundle } from "../bundle/bundle.ts";
import { hashBatchHeader, packQuorumSignatures, signBatchHeader } from "../eip712/batchHeader.ts";
import { defaultFactorSet } from "../factors/factorSet.ts";
import { idToBytes32 } from "../ids.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import type { Reading } from "../reading/schema.ts";
import { generateDeviceKey, publicKeyToXY, signReading } from "../reading/sign.ts";
import { TEST_ONLY_HARDHAT_KEYS, startTestChain, type TestChain } from "../test/hardhatNode.ts";
import { attestationRegistryAbi, deviceRegistryAbi } from "./abi.ts";
import { createVerifyCache } from "./cache.ts";
import { gatewaySource } from "./sources.ts";
import { verifyAttestation } from "./verifyAttestation.ts";

/**
 * The no-double-attestation link over a facility with many attestations, against a loopback
 * gateway (stands in for an IPFS gateway: a real one cannot count the requests in flight) that
 * answers slowly, so requests sent together are seen together.
 */
const FACILITY = "ktda-history";
const DEVICE = "history-chimney-1";
const ATTESTATIONS = 24;
const deviceKey = generateDeviceKey();
const pinned = new Map<string, Uint8Array>();
const ids: Hex[] = [];
let chain: TestChain;
let gateway: Server;
let gatewayUrl = "";
let inFlight = 0;
let maxInFlight = 0;
let requests = 0;

before(async () => {
  chain = await startTestChain();
  const { x, y } = publicKeyToXY(deviceKey.publicKey);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, chain.deviceRegistry, deviceRegistryAbi, "registerDevice", [
    idToBytes32(DEVICE),
    idToBytes32(FACILITY),
    0,
    x,
    y,
    "",
  ]);
  const domain = { chainId: 31337, verifyingContract: chain.registry };
  const nodes = TEST_ONLY_HARDHAT_KEYS.slice(1, 3).map((k) => privateKeyToAccount(k));
  for (let hour = 0; hour < ATTESTATIONS; hour++) {
    const start = 1763900000 + 3600 * hour;
    const envelopes = [0, 1].map((i) => {
      const r: Reading = {
        v: 1,
        deviceId: DEVICE,
        facilityId: FACILITY,
        seq: hour * 10 + i,
        ts: start + 60 * i,
        intervalS: 5,
        kind: "flue-gas",
        m: { co2Ppm: 41000 + i, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
      };
      return signReading(r, deviceKey.secretKey);
    });
    const bundle = buildBundle({
      facilityId: FACILITY,
      periodStart: start,
      periodEnd: start + 3600,
      envelopes,
      factorSet: defaultFactorSet(),
      methodologyId: METHODOLOGY_ID,
    });
    const bytes = encodeBundle(bundle);
    const cid = bundleCid(bytes);
    pinned.set(cid, bytes);
    const header = bundleHeader(bundle, cid);
    const signed = await Promise.all(
      nodes.map(async (a) => ({ signer: a.address, signature: await signBatchHeader(a, header, domain) })),
    );
    await chain.write(TEST_ONLY_HARDHAT_KEYS[1]!, chain.registry, attestationRegistryAbi, "submit", [
      header,
      packQuorumSignatures(signed),
    ]);
    ids.push(hashBatchHeader(header, domain));
  }
  gateway = createServer((req, res) => {
    const m = /^\/ipfs\/([a-z0-9]+)\?format=raw$/.exec(req.url ?? "");
    const bytes = m ? pinned.get(m[1]!) : undefined;
    requests++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      if (!bytes) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "application/vnd.ipld.raw" }).end(bytes);
    }, 40);
  });
  await new Promise<void>((r) => gateway.listen(0, "127.0.0.1", r));
  const addr = gateway.address();
  gatewayUrl = `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`;
});

after(async () => {
  await chain?.stop();
  gateway?.closeAllConnections();
  gateway?.close();
});

test("no-double-attestation link: the facility's other bundles are fetched at most 8 at a time, and only their reading keys are kept", async () => {
  const cache = createVerifyCache();
  const report = await verifyAttestation({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    source: gatewaySource(gatewayUrl),
    target: { attestationId: ids[0]! },
    cache,
  });
  const history = report.checks.find((c) => c.link === "no reading attested twice for the facility");
  assert.equal(
    report.ok,
    true,
    report.checks.map((c) => `${c.ok ? "PASS" : "FAIL"} ${c.link}: ${c.detail}`).join("\n"),
  );
  assert.match(history!.detail, new RegExp(`^${ATTESTATIONS - 1} other attestation\\(s\\) of ${FACILITY} checked`));
  // its own bundle and every other one, each once
  assert.equal(requests, ATTESTATIONS);
  assert.ok(maxInFlight <= 8, `${maxInFlight} requests in flight at once`);
  assert.ok(maxInFlight > 1, "the bundles were fetched one by one");
  // the walk's cache holds the keys of every bundle for the next verification, no bytes
  assert.equal(cache.bytes.size, 0);
  assert.equal(cache.readingKeys.size, ATTESTATIONS);
  // a second verification of the walk reads no bundle but its own
  const before = requests;
  const again = await verifyAttestation({
    client: chain.client,
    registry: chain.registry,
    deviceRegistry: chain.deviceRegistry,
    source: gatewaySource(gatewayUrl),
    target: { attestationId: ids[1]! },
    cache,
  });
  assert.equal(again.ok, true);
  assert.equal(requests - before, 1);
});
