import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Hex } from "viem";
import { buildBundle } from "../bundle/bundle.ts";
import { defaultFactorSet } from "../factors/factorSet.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import { generateDeviceKey } from "../reading/sign.ts";
import { attestBundle, flueGasEnvelopes, registerTestDevice, startTestGateway } from "../test/attest.ts";
import { startTestChain, type TestChain } from "../test/hardhatNode.ts";
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
let gateway: { url: string; close(): void } | undefined;
let gatewayUrl = "";
let inFlight = 0;
let maxInFlight = 0;
let requests = 0;

before(async () => {
  chain = await startTestChain();
  await registerTestDevice(chain, DEVICE, FACILITY, deviceKey.publicKey);
  for (let hour = 0; hour < ATTESTATIONS; hour++) {
    const start = 1763900000 + 3600 * hour;
    const envelopes = flueGasEnvelopes({
      deviceId: DEVICE,
      facilityId: FACILITY,
      secretKey: deviceKey.secretKey,
      start,
      count: 2,
      seq0: hour * 10,
      stepS: 60,
    });
    const bundle = buildBundle({
      facilityId: FACILITY,
      periodStart: start,
      periodEnd: start + 3600,
      envelopes,
      factorSet: defaultFactorSet(),
      methodologyId: METHODOLOGY_ID,
    });
    ids.push((await attestBundle(chain, bundle, pinned)).id);
  }
  gateway = await startTestGateway(pinned, {
    delayMs: 40,
    observe: {
      start() {
        requests++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
      },
      end() {
        inFlight--;
      },
    },
  });
  gatewayUrl = gateway!.url;
});

after(async () => {
  await chain?.stop();
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
