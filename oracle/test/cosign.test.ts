import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  METHODOLOGY_ID,
  buildBundle,
  bundleCid,
  bundleHeader,
  defaultFactorSet,
  encodeBundle,
  hashBatchHeader,
  type Envelope,
  type Hex,
} from "../../sdk/src/index.ts";
import { headerFromJson, headerToJson } from "../src/batch/bundle.ts";
import { DEVICE_SYNC_WAIT_MS, MemoryDeviceDirectory, type DeviceInfo } from "../src/devices/directory.ts";
import { reviewCosign, type CosignRequest, type ReviewRequest } from "../src/quorum/cosign.ts";
import { Cosigner, type CosignAnswer } from "../src/quorum/cosigner.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import { deviceInfo, electricity, makeDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

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
    assert.match(
      (r as { why: string }).why,
      /device m1 is suspended since 1700000015 \(the reading is stamped 1700000020\)/,
    );
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

describe("Cosigner: what a stateless review cannot see", () => {
  const tmp = tempDir();
  after(() => tmp.cleanup());
  const meter = makeDevice("m2");
  const NOW = T0 + 100_000;
  const period = { start: T0, end: T0 + 3600 };
  const low = electricity(meter, { ts: T0 + 10, energyWh: 100 });
  const high = electricity(meter, { ts: T0 + 20, energyWh: 90_000 });
  const mid = electricity(meter, { ts: T0 + 2000 });
  const late = [electricity(meter, { ts: T0 + 30 }), electricity(meter, { ts: T0 + 40 })];
  const domain = { chainId: 31337, verifyingContract: `0x${"11".repeat(20)}` as const };
  const idOf = (req: CosignRequest) => hashBatchHeader(headerFromJson(req.header), domain);

  /** A co-signer on a database of its own; counts device look-ups and reviews. */
  function cosigner(
    opts: {
      originals?: Map<Hex, CosignRequest>;
      bundles?: Map<string, string>;
      nowMs?: number;
      /** awaited before each review, with the review's request and signal */
      beforeReview?: (req: ReviewRequest, signal: AbortSignal | undefined) => Promise<void>;
      /** the directory as one following the DeviceRegistry: its `syncedAfter` */
      syncedAfter?: (afterMs: number, timeoutMs: number) => Promise<boolean>;
    } = {},
  ) {
    const storage = new SqliteStorage(join(tmp.dir, `${Math.random()}.db`));
    const directory = new MemoryDeviceDirectory([deviceInfo(meter)]);
    const calls = { lookups: 0, reviews: 0 };
    const c = new Cosigner({
      storage,
      nowMs: () => opts.nowMs ?? NOW * 1000,
      graceS: 30,
      devices: {
        get: (id) => {
          calls.lookups++;
          return directory.get(id);
        },
        ...(opts.syncedAfter ? { syncedAfter: opts.syncedAfter } : {}),
      },
      review: async (req, records, signal) => {
        calls.reviews++;
        await opts.beforeReview?.(req, signal);
        return reviewCosign(req, { calculator, devices: new MemoryDeviceDirectory(records) });
      },
      original: async (id) => {
        const o = opts.originals?.get(id);
        return o ? headerFromJson(o.header) : null;
      },
      readBundle: async (cid) => {
        const b = opts.bundles?.get(cid);
        return b === undefined ? null : Buffer.from(b, "utf8");
      },
      attestationId: (h) => hashBatchHeader(h, domain),
      sign: async () => ({ signer: "0xsigner", signature: "0xsig" }),
    });
    return { c, storage, calls };
  }
  const signed = (a: CosignAnswer) => {
    assert.ok("signature" in a, JSON.stringify(a));
  };
  const refused = (a: CosignAnswer, status: number, re: RegExp) => {
    assert.ok("refused" in a, "refused");
    assert.equal(a.status, status, a.refused);
    assert.match(a.refused, re);
  };

  test("a second regular header for the same facility and period (the readings without the high one) is refused with 409 naming the id signed; the same header again is signed again; a later period is not an alternative", async () => {
    const { c, storage, calls } = cosigner();
    const full = request([low, high], period);
    const reduced = request([low], period);
    signed(await c.cosign(full));
    const first = idOf(full);
    assert.equal(storage.getCosign(first)?.bundleCid, headerFromJson(full.header).bundleCid, "recorded");
    const lookups = calls.lookups;
    refused(await c.cosign(reduced), 409, new RegExp(`already co-signed ${first} for this facility's period`));
    assert.equal(calls.lookups, lookups, "refused before any device look-up");
    refused(await c.cosign(request([mid], { start: T0 + 1800, end: T0 + 5400 })), 409, new RegExp(first));
    signed(await c.cosign(full));
    signed(await c.cosign(request([electricity(meter, { ts: T0 + 4000 })], { start: T0 + 3600, end: T0 + 7200 })));
    storage.close();
  });

  test("a period that has not ended batching.graceS ago on this node's clock (one ending in 2096) is refused", async () => {
    const { c, storage } = cosigner({ nowMs: (T0 + 3600 + 29) * 1000 });
    refused(await c.cosign(request([low], period)), 422, /co-signs it from 1700003630 on .* its clock says 1700003629/);
    refused(await c.cosign(request([low], { start: T0, end: 4_000_000_000 })), 422, /the period ends at 4000000000/);
    storage.close();
    const later = cosigner({ nowMs: (T0 + 3600 + 30) * 1000 });
    signed(await later.c.cosign(request([low], period)));
    later.storage.close();
  });

  test("a correction: of an attestation the registry holds, same facility, inside its period, none of its readings; several corrections of one original, but not two with the same reading", async () => {
    const original = request([low, high], period);
    const originalId = idOf(original);
    const originals = new Map([[originalId, original]]);
    const bundles = new Map([[headerFromJson(original.header).bundleCid, original.bundle]]);
    const { c, storage } = cosigner({ originals, bundles });
    // an arbitrary correctionOf
    refused(
      await c.cosign(request(late, period, `0x${"ab".repeat(32)}`)),
      422,
      /the registry holds no attestation 0xabab/,
    );
    // the original's own readings again (a double count the registry cannot see)
    refused(
      await c.cosign(request([high], period, originalId)),
      422,
      /already in the original attestation .*'s bundle/,
    );
    // outside the original's period
    refused(await c.cosign(request(late, { start: T0, end: T0 + 7200 }, originalId)), 422, /not inside its original/);
    // of an original computed with another methodology (the registry reverts MethodologyMismatch)
    const older = `0x${"0e".repeat(32)}` as const;
    const oldHeader = headerToJson({ ...headerFromJson(original.header), methodologyId: older });
    const oldOriginal = { ...original, header: oldHeader };
    originals.set(idOf(oldOriginal), oldOriginal);
    refused(
      await c.cosign(request(late, period, idOf(oldOriginal))),
      422,
      new RegExp(`was computed with methodology ${older}, the correction with 0x[0-9a-f]{64}: a correction keeps`),
    );
    // late readings: signed; another correction with other late readings too
    signed(await c.cosign(request([late[0]!], period, originalId)));
    signed(await c.cosign(request([late[1]!], period, originalId)));
    // a third holding a reading of the first: refused, naming it
    const first = idOf(request([late[0]!], period, originalId));
    refused(
      await c.cosign(request(late, period, originalId)),
      409,
      new RegExp(`correction ${first} of ${originalId}, which holds reading`),
    );
    storage.close();
    // the original's bundle out of this node's reach: not signed blind, retry later
    const blind = cosigner({ originals });
    refused(
      await blind.c.cosign(request([late[0]!], period, originalId)),
      503,
      /cannot read the original .*'s bundle .*retry/,
    );
    blind.storage.close();
  });

  test("the CID and decoding are checked before any device is looked up; over 10,000 device ids is 413; the same request in flight is reviewed once", async () => {
    const { c, storage, calls } = cosigner();
    const req = request([low], period);
    // the bundle changed after it was hashed
    refused(
      await c.cosign({ ...req, bundle: req.bundle.replace('"energyWh":', '"energyWh":9') }),
      422,
      /bundle hashes to/,
    );
    // bytes that hash to the CID the header names but are no canonical bundle
    const junk = `{"readings":[{"envelope":{"reading":{"deviceId":"x1"}}}],"z":1}`;
    const junkHeader = JSON.stringify({ ...JSON.parse(req.header), bundleCid: bundleCid(Buffer.from(junk)) });
    refused(await c.cosign({ header: junkHeader, bundle: junk }), 422, /not a canonical evidence bundle/);
    // a bundle naming 10,001 devices
    const many = `{"readings":[${Array.from({ length: 10_001 }, (_, i) => `{"deviceId":"d${i}"}`).join(",")}]}`;
    const manyHeader = JSON.stringify({ ...JSON.parse(req.header), bundleCid: bundleCid(Buffer.from(many)) });
    refused(
      await c.cosign({ header: manyHeader, bundle: many }),
      413,
      /names 10001 devices; this node looks up at most 10000/,
    );
    assert.equal(calls.lookups, 0);
    // five askers of the same header at once: one review, one look-up, one answer for all
    const answers = await Promise.all(Array.from({ length: 5 }, () => c.cosign(req)));
    for (const a of answers) signed(a);
    assert.equal(calls.lookups, 1);
    assert.equal(calls.reviews, 1 + 2, "the junk bundle's decode stage, then decode and full review of the shared one");
    assert.equal(c.inFlight, 0);
    storage.close();
  });

  test("a directory that follows the registry is read up to the period's end (graceS after) before any device is looked up; when it cannot be, 503 and no look-up", async () => {
    const asked: [number, number][] = [];
    let reachable = false;
    const { c, storage, calls } = cosigner({
      syncedAfter: async (afterMs, timeoutMs) => {
        asked.push([afterMs, timeoutMs]);
        return reachable;
      },
    });
    const req = request([low], period);
    refused(
      await c.cosign(req),
      503,
      new RegExp(
        `has not read the DeviceRegistry's events up to ${new Date((period.end + 30) * 1000).toISOString()} yet`,
      ),
    );
    assert.equal(calls.lookups, 0);
    assert.equal(storage.getCosign(idOf(req)), null, "nothing recorded");
    reachable = true;
    signed(await c.cosign(req));
    assert.equal(calls.lookups, 1);
    assert.deepEqual(asked, [
      [(period.end + 30) * 1000, DEVICE_SYNC_WAIT_MS],
      [(period.end + 30) * 1000, DEVICE_SYNC_WAIT_MS],
    ]);
    storage.close();
  });

  test("a review whose requesters have all gone is stopped, records nothing and leaves no entry; the same request again is signed", async () => {
    // the full review (after decoding and the device look-up) held until the test lets it go; like
    // the bundle worker's, it does not stop part-way: it answers as if nothing happened
    let letGo!: () => void;
    let hold: Promise<void> | null = new Promise<void>((go) => (letGo = go));
    const seen: (AbortSignal | undefined)[] = [];
    const { c, storage, calls } = cosigner({
      beforeReview: async (req, signal) => {
        if (req.stage === "decode" || !hold) return;
        seen.push(signal);
        const h = hold;
        hold = null; // only the first full review is held
        await h;
      },
    });
    const req = request([low], period);
    const [a, b] = [new AbortController(), new AbortController()];
    const answers = [c.cosign(req, a.signal), c.cosign(req, b.signal)];
    await waitUntil(() => seen.length === 1, "the full review under way");
    assert.equal(calls.reviews, 2, "one review for both: its decode stage, then the full review");
    a.abort(new Error("requester a closed its request"));
    await assert.rejects(answers[0]!, /requester a closed/);
    assert.equal(seen[0]!.aborted, false, "one requester left: the review goes on");
    assert.equal(c.inFlight, 1);
    b.abort(new Error("requester b closed its request"));
    await assert.rejects(answers[1]!, /requester b closed/);
    assert.equal(seen[0]!.aborted, true, "the last one gone: the review is stopped");
    assert.equal(c.inFlight, 0, "and its entry dropped at once");
    // the same request meanwhile starts a review of its own rather than waiting on the stopped one
    const again = c.cosign(req);
    letGo(); // the stopped review's step ends, with an answer nobody wants
    signed(await again);
    assert.equal(calls.reviews, 2 + 2, "a review of its own");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(c.inFlight, 0);
    assert.ok(storage.getCosign(idOf(req)), "recorded by the review that was wanted");
    // a stopped review records nothing: the first request alone, stopped, leaves no record
    let first = true;
    const fresh = cosigner({
      beforeReview: async (r, signal) => {
        if (r.stage === "decode" || !first) return;
        first = false; // the first full review: until it is stopped
        await new Promise((go) => signal!.addEventListener("abort", go, { once: true }));
      },
    });
    const gone = new AbortController();
    const stopped = fresh.c.cosign(req, gone.signal);
    await waitUntil(() => fresh.calls.reviews === 2, "the full review under way");
    gone.abort(new Error("closed"));
    await assert.rejects(stopped, /closed/);
    await new Promise((r) => setTimeout(r, 50)); // the stopped review reaches its next step
    assert.equal(fresh.storage.getCosign(idOf(req)), null, "no co-sign recorded by the stopped review");
    assert.equal(fresh.c.inFlight, 0);
    // an alternative for the period is still signed: nothing holds it
    signed(await fresh.c.cosign(request([low, high], period)));
    fresh.storage.close();
    storage.close();
  });
});

/** Polls `ok` every few ms until it holds (at most 10 s). */
async function waitUntil(ok: () => boolean, what: string): Promise<void> {
  const end = Date.now() + 10_000;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
