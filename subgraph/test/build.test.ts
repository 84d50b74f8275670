/**
 * `graph codegen` and `graph build` on a temporary copy of the subgraph (so a developer's dist/ is
 * left alone), with the manifest generated from main's artifacts and the fixture deployment:
 * the AssemblyScript mappings must compile against the ABIs main has at this commit.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generate } from "../scripts/generate.ts";
import { ensureArtifacts, repoRoot } from "./support/artifacts.ts";

const subgraphDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function graph(args: string[], cwd: string): { status: number | null; output: string } {
  const r = spawnSync(join(repoRoot, "node_modules/.bin/graph"), args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  return { status: r.status, output: `${r.stdout ?? ""}${r.stderr ?? ""}` };
}

test(
  "graph codegen and graph build compile every data source of the generated manifest",
  { timeout: 15 * 60_000 },
  async () => {
    const work = mkdtempSync(join(tmpdir(), "cp-subgraph-build-"));
    try {
      for (const p of ["schema.graphql", "src", "networks.config.json"]) {
        cpSync(join(subgraphDir, p), join(work, p), { recursive: true });
      }
      symlinkSync(join(repoRoot, "node_modules"), join(work, "node_modules"), "dir");
      const result = await generate({
        subgraphDir: work,
        artifactsDir: ensureArtifacts(),
        outDir: join(work, "dist"),
        networksFile: join(work, "networks.config.json"),
        deployment: join(subgraphDir, "test/fixtures/deployed_addresses.json"),
        log: () => {},
      });
      const local = result.manifests.find((m) => m.file === "subgraph.yaml");
      assert.ok(local, "local manifest generated");

      const codegen = graph(["codegen", "dist/subgraph.yaml", "--output-dir", "dist/generated"], work);
      assert.equal(codegen.status, 0, `graph codegen failed:\n${codegen.output}`);
      const build = graph(["build", "dist/subgraph.yaml", "--output-dir", "dist/build"], work);
      assert.equal(build.status, 0, `graph build failed:\n${build.output}`);
      for (const name of local.included) {
        assert.ok(existsSync(join(work, "dist/build", name, `${name}.wasm`)), `${name}.wasm built`);
      }
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
);
