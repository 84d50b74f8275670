/**
 * Writes sdk/src/contracts/generated.ts (`npm run contracts:export`, after `hardhat build`):
 * - a typed ABI (`as const`) for every deployable contract under contracts/ — every
 *   `contract` that is not abstract, not an interface or library, and not under contracts/test/
 *   or contracts/mocks/ (found from the compiler's AST in the build info, so contracts added
 *   later are picked up without touching this script);
 * - the ABI of OpenZeppelin's `IERC20Errors` (ERC-6093), which the payment token (TestUSD, or any
 *   OpenZeppelin ERC-20) reverts with, taken from the compiler's output in the build info, so that
 *   a dApp can name an error bubbling up from the token without a hand-copied signature;
 * - `deployedContracts`: chainId → contract name → { address, startBlock? }, from Ignition's
 *   default deployments `ignition/deployments/chain-<chainId>/deployed_addresses.json`
 *   (startBlock from the deployment's journal, for indexers).
 *
 * Deterministic: contracts and chains sorted, no timestamps. Options (for tests):
 * `--artifacts <dir>` `--deployments <dir>` `--out <file>`.
 */
import { existsSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { ignitionStartBlocks } from "../sdk/src/chain/ignitionStartBlocks.ts";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

type AbiItem = Record<string, unknown>;
type Artifact = {
  contractName: string;
  sourceName: string;
  abi: AbiItem[];
  bytecode: string;
  inputSourceName?: string;
  buildInfoId?: string;
};
type AstNode = { nodeType: string; name?: string; contractKind?: string; abstract?: boolean; nodes?: AstNode[] };
type BuildInfoOutput = { output: { sources: Record<string, { ast: AstNode }> } };

export type ExportOptions = { artifactsDir: string; deploymentsDir: string; outFile: string };

export type Deployment = { address: string; startBlock?: number };

async function walk(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

/** True for source paths whose contracts are never exported (test helpers and mocks). */
function isTestSource(sourceName: string): boolean {
  return /(^|\/)(test|tests|mocks)\//.test(sourceName.replace(/^contracts\//, "/")) || sourceName.endsWith(".t.sol");
}

/** Deployable contracts of contracts/, sorted by name: artifacts whose AST node is a concrete `contract`. */
export async function readDeployableArtifacts(artifactsDir: string): Promise<Artifact[]> {
  const contractsDir = path.join(artifactsDir, "contracts");
  if (!existsSync(contractsDir)) throw new Error(`No artifacts in ${contractsDir}: run \`npx hardhat build\` first.`);
  const buildInfos = new Map<string, BuildInfoOutput>();
  const result: Artifact[] = [];
  for (const file of (await walk(contractsDir)).sort()) {
    if (!file.endsWith(".json") || file.endsWith(".dbg.json")) continue;
    const artifact = JSON.parse(await readFile(file, "utf8")) as Artifact;
    if (!artifact.abi || !artifact.contractName || isTestSource(artifact.sourceName)) continue;
    if (!artifact.bytecode || artifact.bytecode === "0x") continue; // interfaces, abstract contracts
    const kind = await contractKind(artifactsDir, artifact, buildInfos);
    if (kind !== "contract") continue; // libraries
    result.push(artifact);
  }
  result.sort((a, b) => (a.contractName < b.contractName ? -1 : a.contractName > b.contractName ? 1 : 0));
  const names = new Set<string>();
  for (const a of result) {
    if (names.has(a.contractName))
      throw new Error(`Two deployable contracts are named ${a.contractName}; names must be unique.`);
    names.add(a.contractName);
  }
  return result;
}

async function contractKind(
  artifactsDir: string,
  artifact: Artifact,
  cache: Map<string, BuildInfoOutput>,
): Promise<string | undefined> {
  if (!artifact.buildInfoId) return undefined;
  let info = cache.get(artifact.buildInfoId);
  if (!info) {
    const file = path.join(artifactsDir, "build-info", `${artifact.buildInfoId}.output.json`);
    info = JSON.parse(await readFile(file, "utf8")) as BuildInfoOutput;
    cache.set(artifact.buildInfoId, info);
  }
  const source = info.output.sources[artifact.inputSourceName ?? artifact.sourceName];
  const node = source?.ast.nodes?.find((n) => n.nodeType === "ContractDefinition" && n.name === artifact.contractName);
  if (!node) return undefined;
  return node.abstract ? "abstract" : node.contractKind;
}

/**
 * Standard error interfaces exported beside the deployable contracts: OpenZeppelin's ERC-6093
 * errors of an ERC-20, which the generated contracts do not declare (a payment token's revert
 * bubbles up through `Marketplace.buy`). Keyed by the interface name.
 */
export const STANDARD_ERROR_INTERFACES = ["IERC20Errors"] as const;
/** The exported constant of each standard error interface. */
const standardErrorConstName: Record<(typeof STANDARD_ERROR_INTERFACES)[number], string> = {
  IERC20Errors: "erc20ErrorsAbi",
};

/**
 * The ABIs of {@link STANDARD_ERROR_INTERFACES}, from the first build info (sorted by file name)
 * whose compiler output has the interface: the same OpenZeppelin source compiles to the same ABI
 * in every build, and build infos are what `hardhat build` writes for every source it compiled.
 */
export async function readStandardErrorAbis(
  artifactsDir: string,
): Promise<{ name: string; sourceName: string; abi: AbiItem[] }[]> {
  const dir = path.join(artifactsDir, "build-info");
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith(".output.json")).sort() : [];
  const found = new Map<string, { name: string; sourceName: string; abi: AbiItem[] }>();
  for (const file of files) {
    if (found.size === STANDARD_ERROR_INTERFACES.length) break;
    const info = JSON.parse(await readFile(path.join(dir, file), "utf8")) as {
      output: { contracts?: Record<string, Record<string, { abi?: AbiItem[] }>> };
    };
    for (const [sourceName, contracts] of Object.entries(info.output.contracts ?? {}))
      for (const name of STANDARD_ERROR_INTERFACES) {
        const abi = contracts[name]?.abi;
        if (abi && !found.has(name)) found.set(name, { name, sourceName: sourceName.replace(/^npm\//, ""), abi });
      }
  }
  return STANDARD_ERROR_INTERFACES.map((name) => {
    const entry = found.get(name);
    if (!entry)
      throw new Error(
        `No build info in ${dir} has ${name} (OpenZeppelin's ERC-6093 errors): run \`npx hardhat build\` first.`,
      );
    return entry;
  });
}

/** chainId → contract name → deployment, from `chain-<id>` Ignition deployments, sorted. */
export async function readDeployments(deploymentsDir: string): Promise<Record<string, Record<string, Deployment>>> {
  const chains: Record<string, Record<string, Deployment>> = {};
  if (!existsSync(deploymentsDir)) return chains;
  const dirs = (await readdir(deploymentsDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory() && /^chain-\d+$/.test(d.name))
    .map((d) => d.name)
    .sort((a, b) => Number(a.slice(6)) - Number(b.slice(6)));
  for (const dir of dirs) {
    const addressesFile = path.join(deploymentsDir, dir, "deployed_addresses.json");
    if (!existsSync(addressesFile)) continue;
    const addresses = JSON.parse(await readFile(addressesFile, "utf8")) as Record<string, string>;
    // futureId → block of its deployment receipt (the sdk's reader, as the web app and the subgraph use it)
    const startBlocks = ignitionStartBlocks(path.join(deploymentsDir, dir));
    const contracts: Record<string, Deployment> = {};
    for (const futureId of Object.keys(addresses).sort()) {
      const name = futureId.slice(futureId.indexOf("#") + 1);
      const startBlock = startBlocks.get(futureId);
      contracts[name] =
        startBlock === undefined ? { address: addresses[futureId]! } : { address: addresses[futureId]!, startBlock };
    }
    chains[dir.slice(6)] = contracts;
  }
  return chains;
}

function abiConstName(contractName: string): string {
  return contractName.charAt(0).toLowerCase() + contractName.slice(1) + "Abi";
}

/** The text of generated.ts. */
export function renderGenerated(
  artifacts: Artifact[],
  deployments: Record<string, Record<string, Deployment>>,
  standardErrors: { name: string; sourceName: string; abi: AbiItem[] }[] = [],
): string {
  const lines: string[] = [
    "// Generated by scripts/export-contracts.ts (`npm run contracts:export`) from Hardhat artifacts and Ignition deployments. Do not edit.",
    "",
  ];
  for (const a of artifacts) {
    lines.push(`/** ABI of \`${a.contractName}\` (${a.sourceName}). */`);
    lines.push(`export const ${abiConstName(a.contractName)} = ${JSON.stringify(a.abi, null, 2)} as const`, "");
  }
  for (const e of standardErrors) {
    lines.push(
      `/** ABI of \`${e.name}\` (${e.sourceName}): standard errors a called token reverts with, not a deployable contract. */`,
    );
    lines.push(
      `export const ${standardErrorConstName[e.name as (typeof STANDARD_ERROR_INTERFACES)[number]]} = ${JSON.stringify(e.abi, null, 2)} as const`,
      "",
    );
  }
  lines.push("/** Every deployable contract's ABI by contract name. */");
  lines.push("export const contractAbis = {");
  for (const a of artifacts) lines.push(`  ${a.contractName}: ${abiConstName(a.contractName)},`);
  lines.push("} as const", "");
  lines.push("export type ContractName = keyof typeof contractAbis", "");
  lines.push("export type DeployedContract = { readonly address: `0x${string}`; readonly startBlock?: number }", "");
  lines.push("/** chainId → contract name → address (and the block it was deployed in, for indexers). */");
  // Annotated rather than `as const`, so the type stays the same whatever chains are deployed.
  lines.push(
    `export const deployedContracts: Readonly<Record<number, Partial<Record<ContractName, DeployedContract>>>> = ${JSON.stringify(deployments, null, 2)}`,
    "",
  );
  return lines.join("\n");
}

/**
 * Writes generated.ts, only when its text changes: a rewrite of the same text would still make
 * whatever builds from sdk/src (the web app's build, which e2e and `npm start` check by
 * modification time) think it stale and build again.
 */
export async function exportContracts(
  options: ExportOptions,
): Promise<{ contracts: string[]; chains: string[]; written: boolean }> {
  const artifacts = await readDeployableArtifacts(options.artifactsDir);
  const deployments = await readDeployments(options.deploymentsDir);
  const standardErrors = await readStandardErrorAbis(options.artifactsDir);
  const text = renderGenerated(artifacts, deployments, standardErrors);
  const current = existsSync(options.outFile) ? await readFile(options.outFile, "utf8") : null;
  if (current !== text) {
    await mkdir(path.dirname(options.outFile), { recursive: true });
    await writeFile(options.outFile, text);
  }
  return {
    contracts: artifacts.map((a) => a.contractName),
    chains: Object.keys(deployments),
    written: current !== text,
  };
}

function argument(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const options: ExportOptions = {
    artifactsDir: path.resolve(argument("artifacts") ?? path.join(root, "artifacts")),
    deploymentsDir: path.resolve(argument("deployments") ?? path.join(root, "ignition", "deployments")),
    outFile: path.resolve(argument("out") ?? path.join(root, "sdk", "src", "contracts", "generated.ts")),
  };
  const { contracts, chains, written } = await exportContracts(options);
  console.log(
    `${written ? "Wrote" : "Unchanged:"} ${path.relative(root, options.outFile)}: ${contracts.length} contracts (${contracts.join(", ")}), deployments on ${chains.length ? `chain ${chains.join(", ")}` : "no chain"}.`,
  );
}
