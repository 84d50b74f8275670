#!/usr/bin/env node
/**
 * CI check: regenerates sdk/src/contracts/generated.ts from the contracts and
 * fails when the committed file differs, so ABIs and addresses reach the sdk,
 * oracle and web only through the generator, never by hand.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
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
// Only committed deployments count: a local `npm start` leaves chain-31337 behind, which must
// not make this check fail on a developer's machine.
const committed = mkdtempSync(join(tmpdir(), "carbonproof-deployments-"));
const tracked = spawnSync("git", ["ls-files", "ignition/deployments"], { cwd: root, encoding: "utf8" });
for (const file of tracked.stdout.split("\n").filter(Boolean)) {
  const to = join(committed, relative("ignition/deployments", file));
  mkdirSync(dirname(to), { recursive: true });
  cpSync(join(root, file), to);
}
step(process.execPath, ["scripts/export-contracts.ts", "--deployments", committed]);
rmSync(committed, { recursive: true, force: true });
const diff = spawnSync("git", ["diff", "--exit-code", "--stat", "--", target], { cwd: root, encoding: "utf8" });
if (diff.status !== 0) {
  process.stderr.write(
    `check-generated: ${target} is out of date with the contracts:\n${diff.stdout}\nRun \`npm run contracts:export\` and commit the result.\n`,
  );
  process.exit(1);
}
process.stdout.write(`check-generated: ${target} matches the contracts\n`);
