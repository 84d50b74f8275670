import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { join } from "node:path";
import {
  METHODOLOGY_ID,
  canonicalJson,
  defaultFactorSet,
  readingDigestHex,
  signReading,
  type Envelope,
} from "../../sdk/src/index.ts";
import { buildSealedBundle, type PostedBundleInputs } from "../src/batch/bundle.ts";
import { WindowBundles } from "../src/batch/window-bundles.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { Batch, NewReading } from "../src/storage/types.ts";
import { electricity, makeDevice, type TestDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("cp-window-bundles-");
after(() => tmp.cleanup());

const WINDOW_S = 60;
const T0 = 1_764_000_000; // a window boundary (a multiple of 60)
const inputs = (country = "KEN"): PostedBundleInputs => ({
  factorSet: defaultFactorSet(),
  facilityContext: { country },
  methodologyId: METHODOLOGY_ID,
});

/** A signed reading as the ingest path stores it (the fields a bundle reads are real; the rest plausible). */
function row(env: Envelope, flagged = false): NewReading {
  const r = env.reading;
  return {
    digest: readingDigestHex(r),
    deviceId: r.deviceId,
    facilityId: r.facilityId,
    seq: r.seq,
    ts: r.ts,
    kind: r.kind,
    canonical: canonicalJson(r),
    sig: env.sig,
    keyId: null,
    source: "mqtt",
    receivedAtMs: r.ts * 1000,
    anomalyScore: flagged ? 7.25 : 0.5,
    flagged,
    fossilMg: 0n,
    biogenicMg: 0n,
    methodologyId: METHODOLOGY_ID,
    factorSetId: defaultFactorSet().id,
    resultJson: "{}",
  };
}

let dbs = 0;
function open(): SqliteStorage {
  return new SqliteStorage(join(tmp.dir, `w${++dbs}.sqlite`));
}

/** Stores `n` readings of `d` at ts T0 + offset… (one group commit). */
function store(s: SqliteStorage, d: TestDevice, n: number, offset: number, flagEvery = 0): void {
  const rows = Array.from({ length: n }, (_, i) => {
    d.seq += 1;
    return row(
      electricity(d, { ts: T0 + offset + (i % 50), seq: d.seq, energyWh: 100 + i }),
      flagEvery > 0 && i % flagEvery === 0,
    );
  });
  s.commitIngest(rows, [], { windowS: WINDOW_S, nowMs: (T0 + offset) * 1000 });
}

/** Seals every regular window ending by `endS` and returns the sealed batches. */
function seal(s: SqliteStorage, endS: number): Batch[] {
  return s.sealDue(endS * 1000, 0).map((id) => s.getBatch(id)!);
}

/** What the bundle worker builds for a sealed batch without an assembler. */
const fromRows = (s: SqliteStorage, b: Batch, i = inputs()) => buildSealedBundle(b, s.bundleReadingsOfBatch(b.id), i)!;

/**
 * A WindowBundles on `s` that has built `d`'s facility's first window from its rows (and so
 * learned that facility's inputs): the state of a bundle worker one window after it started.
 */
function afterFirstWindow(s: SqliteStorage, d: TestDevice, opts?: { maxReadings?: number }): WindowBundles {
  const w = new WindowBundles(s, opts);
  store(s, d, 2, 0);
  w.poll();
  assert.equal(w.take(seal(s, T0 + WINDOW_S)[0]!, inputs()), undefined);
  return w;
}

describe("open windows' bundles assembled as readings are stored (batch/window-bundles.ts)", () => {
  test("the bundle taken when a window is sealed is the one built from its rows, readings after the last poll included", () => {
    const s = open();
    const a = makeDevice("dev-a", "fac-1");
    const b = makeDevice("dev-b", "fac-1");
    const c = makeDevice("dev-c", "fac-2");
    const w = new WindowBundles(s);
    // the first window of each facility teaches it the inputs (built from its rows)
    store(s, a, 5, 0);
    store(s, c, 5, 0);
    w.poll();
    for (const batch of seal(s, T0 + WINDOW_S)) assert.equal(w.take(batch, inputs()), undefined);
    // the next window: readings in several commits, polled between them, some after the last poll
    store(s, a, 40, WINDOW_S, 7);
    w.poll();
    store(s, b, 30, WINDOW_S + 1);
    store(s, c, 25, WINDOW_S + 2, 5);
    w.poll();
    assert.equal(w.held, 95);
    store(s, b, 12, WINDOW_S + 3);
    store(s, c, 3, WINDOW_S + 4);
    const sealed = seal(s, T0 + 2 * WINDOW_S);
    assert.equal(sealed.length, 2);
    for (const batch of sealed) {
      const taken = w.take(batch, inputs());
      assert.ok(taken, `batch ${batch.facilityId} taken from its assembler`);
      const built = fromRows(s, batch);
      assert.deepEqual(taken.bytes, built.bytes);
      assert.equal(taken.cid, built.cid);
      assert.equal(taken.headerJson, built.headerJson);
      assert.equal(taken.readingCount, batch.facilityId === "fac-1" ? 82 : 28);
    }
    assert.equal(w.held, 0);
    // taken once: a second build of the same batch is from its rows
    assert.equal(w.take(sealed[0]!, inputs()), undefined);
    s.close();
  });

  test("a window the assembler did not see whole is built from its rows", () => {
    const s = open();
    const a = makeDevice("dev-a", "fac-1");
    store(s, a, 3, 0);
    // started after the window's first readings: they are before its cursor
    const w = new WindowBundles(s);
    store(s, a, 4, 10);
    w.poll();
    const [batch] = seal(s, T0 + WINDOW_S);
    assert.equal(w.take(batch!, inputs()), undefined);
    assert.equal(fromRows(s, batch!).readingCount, 7);
    s.close();
  });

  test("a build with other inputs than the assembler's, or a correction, is built from its rows", () => {
    const s = open();
    const a = makeDevice("dev-a", "fac-1");
    const w = afterFirstWindow(s, a);
    store(s, a, 5, WINDOW_S);
    store(s, a, 5, 2 * WINDOW_S);
    w.poll();
    assert.equal(w.held, 10);
    const [second, third] = seal(s, T0 + 3 * WINDOW_S);
    assert.equal(w.take(second!, inputs("UGA")), undefined, "another facility context");
    assert.equal(w.take(third!, inputs("UGA")), undefined, "assembled with the inputs learned before");
    assert.equal(w.held, 0);
    store(s, a, 5, 3 * WINDOW_S);
    w.poll();
    const [fourth] = seal(s, T0 + 4 * WINDOW_S);
    assert.equal(w.take(fourth!, inputs("UGA"), `0x${"ab".repeat(32)}`), undefined, "a correction");
    s.close();
  });

  test("past its limit it holds nothing and every open window is built from its rows", () => {
    const s = open();
    const a = makeDevice("dev-a", "fac-1");
    const w = afterFirstWindow(s, a, { maxReadings: 20 });
    store(s, a, 15, WINDOW_S);
    w.poll();
    assert.equal(w.held, 15);
    store(s, a, 10, WINDOW_S + 5);
    w.poll();
    assert.equal(w.held, 0, "dropped at 21");
    store(s, a, 1, WINDOW_S + 6);
    w.poll();
    assert.equal(w.held, 0, "a dropped window is not picked up again");
    const [batch] = seal(s, T0 + 2 * WINDOW_S);
    assert.equal(w.take(batch!, inputs()), undefined);
    assert.equal(fromRows(s, batch!).readingCount, 26);
    s.close();
  });

  test("sweep forgets the windows that were sealed and built elsewhere; a tampered row is left to the build from rows", () => {
    const s = open();
    const a = makeDevice("dev-a", "fac-1");
    const w = afterFirstWindow(s, a);
    store(s, a, 6, WINDOW_S);
    w.poll();
    const [batch] = seal(s, T0 + 2 * WINDOW_S);
    s.db.prepare(`UPDATE batches SET state = 'pinned' WHERE id = ?`).run(batch!.id);
    w.sweep();
    assert.equal(w.held, 0);
    // a row whose text is not canonical: the assembler gives up on the window, the build from rows names the fault
    store(s, a, 3, 2 * WINDOW_S);
    const bad = row(
      signReading({ ...electricity(a, { ts: T0 + 2 * WINDOW_S + 9, seq: ++a.seq }).reading }, a.secretKey),
    );
    s.commitIngest([{ ...bad, canonical: ` ${bad.canonical}` }], [], { windowS: WINDOW_S, nowMs: 0 });
    w.poll();
    assert.equal(w.held, 0);
    const [third] = seal(s, T0 + 3 * WINDOW_S);
    assert.equal(w.take(third!, inputs()), undefined);
    assert.throws(() => fromRows(s, third!), /not JSON|canonical/);
    s.close();
  });
});
