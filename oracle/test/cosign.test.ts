import { test, describe } from "node:test";
import assert from "node:assert/strict";
import {
  METHODOLOGY_ID,
  buildBundle,
  bundleCid,
  bundleHeader,
  defaultFactorSet,
  encodeBundle,
  type Envelope,
  type Hex,
} from "../../sdk/src/index.ts";
import { headerToJson } from "../src/batch/bundle.ts";
import { MemoryDeviceDirectory, type DeviceInfo } from "../src/devices/directory.ts";
import { reviewCosign, type CosignRequest } from "../src/quorum/cosign.ts";
import { deviceInfo, electricity, makeDevice } from "./fixtures.ts";

/**
 * The co-signer's review of another node's header and bundle (quorum/cosign.ts), driven directly:
 * what it refuses, and why.
 */
const factorSet = defaultFactorSet();
const context = { country: "KEN" };
const calculator = {
  methodologyId: METHODOLOGY_ID,
  factorSetId: factorSet.id,
  facilityContext: () => context,
};
const T0 = 1_700_000_000;

/** A header and its bundle, as a requester sends them. */
export function request(
  envelopes: Envelope[],
  period: { start: number; end: number },
  correctionOf?: Hex,
): CosignRequest {
  const bundle = buildBundle({
    facilityId: envelopes[0]!.reading.facilityId,
    periodStart: period.start,
    periodEnd: period.end,
    methodologyId: METHODOLOGY_ID,
    factorSet,
    facilityContext: context,
    envelopes,
    ...(correctionOf ? { correctionOf } : {}),
  } as Parameters<typeof buildBundle>[0]);
  const bytes = encodeBundle(bundle);
  return { header: headerToJson(bundleHeader(bundle, bundleCid(bytes))), bundle: Buffer.from(bytes).toString("utf8") };
}

describe("reviewCosign: the devices of the readings", () => {
  const meter = makeDevice("m1");
  const envs = [electricity(meter, { ts: T0 + 10 }), electricity(meter, { ts: T0 + 20 })];
  const req = request(envs, { start: T0, end: T0 + 3600 });
  const review = (d: DeviceInfo) => reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory([d]) });

  test("an active device's readings are signed", async () => {
    assert.equal((await review(deviceInfo(meter))).ok, true);
  });

  test("a device suspended before a reading: refused, naming the device, its status and since when", async () => {
    const r = await review({ ...deviceInfo(meter, "suspended"), statusChangedAt: T0 + 15 });
    assert.equal(r.ok, false);
    assert.match((r as { why: string }).why, /device m1 is suspended since 1700000015 \(the reading is stamped 1700000020\)/);
  });

  test("a device suspended (or retired) after the period's readings: they were made while it was active, signed", async () => {
    assert.equal((await review({ ...deviceInfo(meter, "suspended"), statusChangedAt: T0 + 21 })).ok, true);
    assert.equal((await review({ ...deviceInfo(meter, "revoked"), statusChangedAt: T0 + 3000 })).ok, true);
  });

  test("a device not active since a time unknown (a device file without statusChangedAt): refused", async () => {
    const r = await review(deviceInfo(meter, "revoked"));
    assert.equal(r.ok, false);
    assert.match((r as { why: string }).why, /device m1 is revoked/);
  });

  test("a device of another facility, and one not registered: refused, saying so", async () => {
    let r = await review({ ...deviceInfo(meter), facilityId: "elsewhere" });
    assert.match((r as { why: string }).why, /device m1 belongs to elsewhere, not ktda-kangaita/);
    r = await reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory([]) });
    assert.match((r as { why: string }).why, /device m1 is not registered/);
  });
});
