/**
 * The repository's compiled artifacts, built once if absent (a fresh clone): the subgraph's ABIs
 * come only from them.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

export function ensureArtifacts(): string {
  const dir = process.env.CARBONPROOF_ARTIFACTS
    ? resolve(process.env.CARBONPROOF_ARTIFACTS)
    : join(repoRoot, "artifacts");
  if (!existsSync(join(dir, "contracts"))) {
    const r = spawnSync("npx", ["hardhat", "build", "--quiet"], { cwd: repoRoot, encoding: "utf8" });
    if (r.status !== 0) throw new Error(`npx hardhat build failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
  }
  return dir;
}
