/**
 * `npm test`'s reading of a node:test run (scripts/test-all.ts), on the output of real
 * `node --test` runs, TAP and spec reporters, of a small file that fails in each way a suite can: a
 * failing test, one nested in two suites, a suite whose `before` hook throws (its tests are
 * cancelled, and node:test counts them as neither passed nor failed), a test past its timeout, and
 * a failing TODO test (not a failure).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { failureDigest, parseNodeTest } from "./test-all.ts";

const FIXTURE = `
import { describe, before, test } from "node:test";
import assert from "node:assert/strict";
test("passes", () => {});
test("fails an assertion", () => assert.equal(1 + 1, 3));
describe("a suite whose before hook throws", () => {
  before(() => { throw new Error("the chain did not start: EADDRINUSE"); });
  test("never runs 1", () => {});
  test("never runs 2", () => {});
});
test("runs past its timeout", { timeout: 50 }, () => new Promise((r) => setTimeout(r, 2000)));
// skipped on purpose: npm test must count a skipped test as skipped, neither passed nor failed
test.skip("skipped", () => {});
describe("outer", () => { describe("inner", () => { test("fails deep down", () => assert.ok(false, "deep")); }); });
// a TODO on purpose: its failure is not a failure, and the digest must not list it
test("a known failure", { todo: true }, () => assert.ok(false));
`;

describe("npm test's reading of node:test output", () => {
  let dir = "";
  const output: Record<"tap" | "spec", string> = { tap: "", spec: "" };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "carbonproof-test-all-"));
    writeFileSync(join(dir, "fixture.test.mjs"), FIXTURE);
    for (const reporter of ["tap", "spec"] as const) {
      const run = spawnSync(process.execPath, ["--test", `--test-reporter=${reporter}`, "fixture.test.mjs"], {
        cwd: dir,
        encoding: "utf8",
        env: { ...process.env, NODE_TEST_CONTEXT: undefined, FORCE_COLOR: "0", NO_COLOR: "1" },
      });
      output[reporter] = run.stdout + run.stderr;
      assert.notEqual(run.status, 0, output[reporter]);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("counts tests cancelled by a failed hook or a timeout as failed, not as nothing", () => {
    // passes; fails, 2 cancelled, timed out, fails deep down; skipped + todo
    for (const reporter of ["tap", "spec"] as const)
      assert.deepEqual(parseNodeTest(output[reporter]), { passed: 1, failed: 5, skipped: 2 }, reporter);
  });

  for (const reporter of ["tap", "spec"] as const)
    it(`repeats what failed, from the ${reporter} reporter: each failure once with its error, the cancelled tests by name, no TODO`, () => {
      const digest = failureDigest(output[reporter]).join("\n");
      assert.match(digest, /✗ a suite whose before hook throws( \(hookFailed\))? at .*fixture\.test\.mjs:6:1/);
      assert.match(digest, /the chain did not start: EADDRINUSE/);
      assert.match(digest, /✗ fails an assertion/);
      assert.match(digest, /✗ runs past its timeout/);
      assert.match(digest, /timed out after 50ms/);
      assert.match(digest, /cancelled as their suite failed or timed out \(2\): never runs 1; never runs 2/);
      // the deep failure once, not again as its two enclosing suites' "1 subtest failed"
      assert.equal(digest.match(/✗ /g)?.length, 4, digest);
      assert.match(digest, /✗ fails deep down/);
      assert.doesNotMatch(digest, /✗ (passes|skipped|outer|inner|a known failure)/);
    });

  it("caps the failures it repeats", () => {
    const many = Array.from(
      { length: 30 },
      (_, i) =>
        `not ok ${i + 1} - case ${i}\n  ---\n  duration_ms: 1\n  failureType: 'testCodeFailure'\n  error: 'no'\n  ...`,
    ).join("\n");
    const digest = failureDigest(many, 5);
    assert.equal(digest.filter((l) => l.startsWith("✗")).length, 5);
    assert.equal(digest.at(-1), "… and 25 more failures above");
  });
});
