import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { SeenSeqs } from "../src/ingest/seen-seqs.ts";

/** A stand-in for SQLite's readings table (the lookups SeenSeqs falls back to), counting its lookups. */
function table(initial: [string, number][] = []) {
  const rows = new Set(initial.map(([d, s]) => `${d}/${s}`));
  const t = {
    rows,
    lookups: 0,
    maxSeq(d: string): number | null {
      let m: number | null = null;
      for (const k of rows) if (k.startsWith(`${d}/`)) m = Math.max(m ?? -1, Number(k.split("/")[1]));
      return m;
    },
    hasReading(d: string, s: number): boolean {
      t.lookups++;
      return rows.has(`${d}/${s}`);
    },
  };
  return t;
}

test("answers exactly as the table would, for any order of commits and questions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 20 }),
      fc.array(fc.tuple(fc.boolean(), fc.constantFrom("a", "b"), fc.integer({ min: 0, max: 5000 })), {
        maxLength: 400,
      }),
      (before, ops) => {
        const t = table(before.map((s) => ["a", s]));
        const seen = new SeenSeqs(t);
        for (const [commit, d, s] of ops) {
          if (commit) {
            t.rows.add(`${d}/${s}`);
            seen.add(d, s);
          } else assert.equal(seen.has(d, s), t.rows.has(`${d}/${s}`), `${d}/${s}`);
        }
      },
    ),
    { numRuns: 500 },
  );
});

test("readings arriving out of order within the window need no lookup", () => {
  const t = table([["d", 10]]);
  const seen = new SeenSeqs(t);
  for (let s = 11; s <= 3000; s += 2) seen.add("d", s); // odd seqs committed first
  const before = t.lookups;
  for (let s = 3000 - 500; s <= 3000; s++) assert.equal(seen.has("d", s), s % 2 === 1);
  assert.equal(t.lookups, before);
  // far behind the window: storage answers
  assert.equal(seen.has("d", 10), true);
  assert.ok(t.lookups > before);
});
