import assert from "node:assert/strict";
import { test } from "node:test";
import { ProgressLine } from "./progress.ts";

/** A clock the test moves by hand, so that the intervals are exact. */
function setup(tty: boolean) {
  let nowMs = 0;
  const written: string[] = [];
  const progress = new ProgressLine({ write: (t) => written.push(t), tty, now: () => nowMs });
  return { progress, written, advance: (ms: number) => (nowMs += ms) };
}

test("ProgressLine off a terminal: a whole line at most every 5 s, none for a short run", () => {
  const { progress, written, advance } = setup(false);
  let rows = 0;
  const line = () => `signed ${rows} rows, ${progress.rate(rows)} rows/s`;
  for (; rows < 100; rows++) {
    advance(100); // 10 s in all
    progress.update(line);
  }
  assert.deepEqual(written, ["signed 49 rows, 10 rows/s\n", "signed 99 rows, 10 rows/s\n"]);
  progress.log("skipped line 7: kind\n");
  progress.done();
  assert.equal(written.at(-1), "skipped line 7: kind\n", "nothing to clear off a terminal");
});

test("ProgressLine on a terminal: one line rewritten in place, cleared before other output and at the end", () => {
  const { progress, written, advance } = setup(true);
  progress.update(() => "early");
  assert.deepEqual(written, [], "not before the first interval");
  advance(250);
  progress.update(() => "a");
  advance(100);
  progress.update(() => "too soon");
  advance(150);
  progress.update(() => "b");
  progress.log("skipped line 3: ts\n");
  progress.done();
  assert.deepEqual(written, ["\r\u001b[2Ka", "\r\u001b[2Kb", "\r\u001b[2K", "skipped line 3: ts\n"]);
});
