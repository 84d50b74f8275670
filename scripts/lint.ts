#!/usr/bin/env node
/**
 * `npm run lint` (and the `lint` suite of `npm test`): each linter is one
 * node:test test, so its verdict is counted with the other suites.
 *   - solhint over contracts/ (rules in .solhint.json)
 *   - prettier --check over the TypeScript, JSON and Markdown we write
 *   - tsc --noEmit for every TypeScript project that has a tsconfig.json
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

function sh(command: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync(command, args, { cwd: root, encoding: "utf8", env: { ...process.env, FORCE_COLOR: "0" } });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

test("solhint finds no errors in contracts/", () => {
  const r = sh("npx", ["solhint", "--max-warnings", "1000", "contracts/**/*.sol"]);
  assert.equal(r.status, 0, r.output);
});

test("prettier finds every source file formatted", () => {
  const r = sh("npx", ["prettier", "--check", "--log-level", "warn", "."]);
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
    () => {
      const r = sh("npx", ["tsc", "--noEmit", "-p", project]);
      assert.equal(r.status, 0, r.output);
    },
  );
}
