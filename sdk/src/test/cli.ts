/** The `carbonproof` CLI as the tests run it: the real binary, node on cli/main.ts. */
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const MAIN = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

/** Runs the real binary: node on main.ts, as `npx carbonproof` does. */
export function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [MAIN, ...args], { input, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh temp dir for one test's files. */
export const tmp = () => mkdtempSync(join(tmpdir(), "carbonproof-cli-"));
