#!/usr/bin/env node
/**
 * CI check: regenerates sdk/src/contracts/generated.ts from the contracts and
 * fails when the committed file differs, so ABIs and addresses reach the sdk,
 * oracle and web only through the generator, never by hand.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const target = "sdk/src/contracts/generated.ts";

function step(command: string, args: string[]): void {
  const r = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    process.stderr.write(`check-generated: \`${command} ${args.join(" ")}\` exited ${r.status}\n`);
    process.exit(1);
  }
}

step("npx", ["hardhat", "build", "--quiet"]);
step(process.execPath, ["scripts/export-contracts.ts"]);
const diff = spawnSync("git", ["diff", "--exit-code", "--stat", "--", target], { cwd: root, encoding: "utf8" });
if (diff.status !== 0) {
  process.stderr.write(
    `check-generated: ${target} is out of date with the contracts:\n${diff.stdout}\nRun \`npm run contracts:export\` and commit the result.\n`,
  );
  process.exit(1);
}
process.stdout.write(`check-generated: ${target} matches the contracts\n`);
