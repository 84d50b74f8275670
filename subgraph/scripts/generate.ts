#!/usr/bin/env node
/**
 * `npm run generate -w subgraph`: writes, under subgraph/dist/,
 *   - abis/<Contract>.json   the ABI of every indexable contract of the artifacts folder
 *   - subgraph.yaml          the manifest for the local chain (Ignition deployment or sdk addresses)
 *   - subgraph.<network>.yaml the manifest for the production network of networks.config.json,
 *                            only when an address is configured there
 * and prints which contracts each manifest includes and which it leaves out, and why. Exits 1 when
 * no manifest could be written, unless given `--allow-no-manifest` (the ABIs alone are enough for
 * the handler check).
 *
 * Environment: CARBONPROOF_ARTIFACTS (default <repo>/artifacts), CARBONPROOF_DEPLOYMENT (local
 * deployment: Ignition folder, deployed_addresses.json or generated .ts), CARBONPROOF_SUBGRAPH_NETWORKS
 * (default subgraph/networks.config.json), CARBONPROOF_SUBGRAPH_OUT (default subgraph/dist).
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KNOWN_CONTRACTS, readContracts } from "./artifacts.ts";
import { localDeployment, productionDeployment, readNetworksConfig, type NetworkDeployment } from "./deployments.ts";
import { entityNames, planManifest, renderManifest } from "./manifest.ts";

export type GenerateOptions = {
  subgraphDir: string;
  artifactsDir: string;
  outDir: string;
  networksFile: string;
  deployment?: string;
  log: (line: string) => void;
};

export type GenerateResult = {
  contracts: string[];
  manifests: { network: string; file: string; included: string[] }[];
};

export async function generate(o: GenerateOptions): Promise<GenerateResult> {
  const contracts = readContracts(o.artifactsDir);
  const config = readNetworksConfig(o.networksFile);
  const schema = readFileSync(join(o.subgraphDir, "schema.graphql"), "utf8");
  const entities = entityNames(schema);

  rmSync(join(o.outDir, "abis"), { recursive: true, force: true });
  mkdirSync(join(o.outDir, "abis"), { recursive: true });
  for (const c of contracts) {
    writeFileSync(join(o.outDir, "abis", `${c.name}.json`), `${JSON.stringify(c.abi, null, 2)}\n`);
  }
  o.log(`contracts in ${o.artifactsDir}: ${contracts.map((c) => `${c.name} (${c.events.length} events)`).join(", ")}`);
  const absent = KNOWN_CONTRACTS.filter((n) => !contracts.some((c) => c.name === n));
  if (absent.length) {
    o.log(`left out, no artifact (not on this branch yet): ${absent.join(", ")}`);
  }

  const networks: { deployment: NetworkDeployment; file: string }[] = [];
  const local = await localDeployment(
    resolve(o.subgraphDir, ".."),
    config.local.network,
    config.local.chainId,
    o.deployment,
  );
  if (local.deployment) networks.push({ deployment: local.deployment, file: "subgraph.yaml" });
  else o.log(`network ${config.local.network} not emitted: ${local.reason}`);
  const production = productionDeployment(config, o.networksFile);
  if (production.deployment) {
    networks.push({ deployment: production.deployment, file: `subgraph.${production.deployment.network}.yaml` });
  } else o.log(`network ${config.production.network} not emitted: ${production.reason}`);

  const result: GenerateResult = { contracts: contracts.map((c) => c.name), manifests: [] };
  for (const { deployment, file } of networks) {
    const plan = planManifest(contracts, deployment);
    if (plan.included.length === 0) {
      o.log(`network ${deployment.network} not emitted: none of its contracts has an artifact`);
      continue;
    }
    // The manifest names its address source relative to the repository, so it is the same on every machine.
    const shown = { ...deployment, source: relative(resolve(o.subgraphDir, ".."), deployment.source) };
    const text = renderManifest(plan, shown, entities, {
      schema: relative(o.outDir, join(o.subgraphDir, "schema.graphql")),
      abis: "./abis",
      src: relative(o.outDir, join(o.subgraphDir, "src")),
    });
    writeFileSync(join(o.outDir, file), text);
    result.manifests.push({ network: deployment.network, file, included: plan.included.map((c) => c.name) });
    o.log(`wrote ${join(o.outDir, file)}: ${deployment.network}, ${plan.included.map((c) => c.name).join(", ")}`);
    if (plan.notDeployed.length) o.log(`  left out, not deployed there: ${plan.notDeployed.join(", ")}`);
    if (plan.unknownDeployments.length) {
      o.log(`  deployed but not indexed (no events or no artifact): ${plan.unknownDeployments.join(", ")}`);
    }
  }
  return result;
}

async function main(): Promise<void> {
  const subgraphDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const env = process.env;
  const result = await generate({
    subgraphDir,
    artifactsDir: resolve(env.CARBONPROOF_ARTIFACTS ?? join(subgraphDir, "..", "artifacts")),
    outDir: resolve(env.CARBONPROOF_SUBGRAPH_OUT ?? join(subgraphDir, "dist")),
    networksFile: resolve(env.CARBONPROOF_SUBGRAPH_NETWORKS ?? join(subgraphDir, "networks.config.json")),
    deployment: env.CARBONPROOF_DEPLOYMENT ? resolve(env.CARBONPROOF_DEPLOYMENT) : undefined,
    log: (line) => process.stdout.write(`generate: ${line}\n`),
  });
  if (result.manifests.length === 0 && !process.argv.includes("--allow-no-manifest")) {
    process.stderr.write(
      "generate: no manifest written: no network has a deployment. Deploy locally (`npm start`), set CARBONPROOF_DEPLOYMENT, or configure production addresses in networks.config.json.\n",
    );
    process.exitCode = 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
