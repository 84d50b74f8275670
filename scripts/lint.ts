#!/usr/bin/env node
/**
 * `npm run lint` (and the `lint` suite of `npm test`): each linter is one
 * node:test test, so its verdict is counted with the other suites.
 *   - solhint over contracts/ (rules in .solhint.json)
 *   - prettier --check over the TypeScript, JSON and Markdown we write
 *   - tsc --noEmit for every TypeScript project that has a tsconfig.json
 * Two at a time: each linter is one process on one core (tsc type-checks on one thread), and CI
 * has two; run one after another they took ~140 s of the run.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function sh(command: string, args: string[]): Promise<{ status: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: root, env: { ...process.env, FORCE_COLOR: "0" } });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
    child.once("error", reject);
    child.once("close", (status) => resolve({ status, output }));
  });
}

describe("linters", { concurrency: 2 }, () => {
  test("solhint finds no errors in contracts/", async () => {
    const r = await sh("npx", ["solhint", "--max-warnings", "1000", "contracts/**/*.sol"]);
    assert.equal(r.status, 0, r.output);
  });

  test("prettier finds every source file formatted", async () => {
    const r = await sh("npx", ["prettier", "--check", "--log-level", "warn", "."]);
    assert.equal(r.status, 0, `run \`npx prettier --write .\` to fix:\n${r.output}`);
  });

  for (const project of [
    "tsconfig.json",
    "sdk/tsconfig.json",
    "oracle/tsconfig.json",
    "web/tsconfig.json",
    "subgraph/tsconfig.json",
  ]) {
    test(
      `tsc --noEmit -p ${project} finds no type errors`,
      { skip: !existsSync(join(root, project)) && `${project} does not exist yet` },
      async () => {
        const r = await sh("npx", ["tsc", "--noEmit", "-p", project]);
        assert.equal(r.status, 0, r.output);
      },
    );
  }
});
