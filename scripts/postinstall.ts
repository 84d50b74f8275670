#!/usr/bin/env node
/**
 * Runs after `npm install`: builds what `npm start` serves, so that the first start after
 * install is fast (the contracts with Hardhat, the web app with Next.js). Set
 * CARBONPROOF_SKIP_BUILD=1 to skip (e.g. while adding a package).
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (process.env.CARBONPROOF_SKIP_BUILD === "1") {
  process.stdout.write("postinstall: CARBONPROOF_SKIP_BUILD=1, nothing built\n");
  process.exit(0);
}

function step(what: string, command: string, args: string[], cwd: string, env: Record<string, string> = {}): void {
  const started = Date.now();
  process.stdout.write(`postinstall: ${what}…\n`);
  const r = spawnSync(command, args, { cwd, stdio: "inherit", env: { ...process.env, ...env } });
  if (r.status !== 0) {
    process.stderr.write(
      `postinstall: ${what} failed (exit ${r.status}). Fix the error above, then run \`npm run postinstall\`.\n`,
    );
    process.exit(1);
  }
  process.stdout.write(`postinstall: ${what} done in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

step("compiling the contracts", "npx", ["hardhat", "build", "--quiet"], root);
if (existsSync(join(root, "web/package.json")))
  step("building the web app", "npx", ["next", "build"], join(root, "web"), { NEXT_TELEMETRY_DISABLED: "1" });
