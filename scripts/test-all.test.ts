/**
 * `npm test`'s reading of a node:test run (scripts/test-all.ts), on the output of a real
 * `node --test` run of a small file that fails in each way a suite can: a failing test, a suite
 * whose `before` hook throws (its tests are cancelled, and node:test counts them as neither passed
 * nor failed), and a test past its timeout.
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
test.skip("skipped", () => {});
`;

describe("npm test's reading of node:test output", () => {
  let dir = "";
  let output = "";
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "carbonproof-test-all-"));
    writeFileSync(join(dir, "fixture.test.mjs"), FIXTURE);
    const run = spawnSync(process.execPath, ["--test", "--test-reporter=tap", "fixture.test.mjs"], {
      cwd: dir,
      encoding: "utf8",
      env: { ...process.env, NODE_TEST_CONTEXT: undefined },
    });
    output = run.stdout + run.stderr;
    assert.notEqual(run.status, 0, output);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("counts tests cancelled by a failed hook or a timeout as failed, not as nothing", () => {
    assert.deepEqual(parseNodeTest(output), { passed: 1, failed: 4, skipped: 1 });
  });

  it("repeats what failed: the failed hook's error, the assertion, the timeout, and the cancelled tests by name", () => {
    const digest = failureDigest(output).join("\n");
    assert.match(digest, /✗ a suite whose before hook throws \(hookFailed\) at .*fixture\.test\.mjs:6:1/);
    assert.match(digest, /the chain did not start: EADDRINUSE/);
    assert.match(digest, /✗ fails an assertion \(testCodeFailure\)/);
    assert.match(digest, /✗ runs past its timeout \(testTimeoutFailure\)/);
    assert.match(digest, /cancelled as their suite failed or timed out \(2\): never runs 1; never runs 2/);
    assert.doesNotMatch(digest, /✗ passes|✗ skipped/);
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
