/**
 * Finds the contracts the subgraph indexes in a Hardhat artifacts folder: every deployable
 * contract (non-empty bytecode) under `contracts/` that declares at least one event, except
 * test contracts (`contracts/test/`). Interfaces and event-less libraries drop out by those rules,
 * so a contract merged into main later (the credits side) is picked up without a list to edit.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { z } from "zod";

const abiParam: z.ZodType<AbiParam> = z.lazy(() =>
  z.object({
    name: z.string(),
    type: z.string(),
    indexed: z.boolean().optional(),
    internalType: z.string().optional(),
    components: z.array(abiParam).optional(),
  }),
);

export type AbiParam = {
  name: string;
  type: string;
  indexed?: boolean;
  internalType?: string;
  components?: AbiParam[];
};

export type AbiEvent = { type: "event"; name: string; inputs: AbiParam[]; anonymous?: boolean };

const eventSchema = z.object({
  type: z.literal("event"),
  name: z.string(),
  inputs: z.array(abiParam),
  anonymous: z.boolean().optional(),
});

const artifactSchema = z.object({
  contractName: z.string(),
  sourceName: z.string(),
  abi: z.array(z.object({ type: z.string() }).passthrough()),
  bytecode: z.string(),
});

export type ContractArtifact = {
  name: string;
  sourceName: string;
  /** The whole ABI, as the artifact has it (written to dist/abis for graph-cli). */
  abi: unknown[];
  events: AbiEvent[];
};

/** The contracts of the project the subgraph is written for, in deployment order. */
export const KNOWN_CONTRACTS = [
  "DeviceRegistry",
  "OracleSet",
  "AttestationRegistry",
  "CarbonCredits",
  "RetirementCertificates",
  "Marketplace",
] as const;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...walk(path));
    else if (entry.name.endsWith(".json") && !entry.name.endsWith(".dbg.json")) out.push(path);
  }
  return out;
}

/** Canonical ABI type of a parameter, tuples expanded: `(bytes32,uint64,string)[]`. */
export function canonicalType(p: AbiParam): string {
  if (p.type.startsWith("tuple")) {
    const suffix = p.type.slice("tuple".length);
    return `(${(p.components ?? []).map(canonicalType).join(",")})${suffix}`;
  }
  return p.type;
}

/** The event signature graph-cli expects in a manifest: `Name(indexed bytes32,uint8,(…))`. */
export function manifestEventSignature(e: AbiEvent): string {
  return `${e.name}(${e.inputs.map((i) => `${i.indexed ? "indexed " : ""}${canonicalType(i)}`).join(",")})`;
}

/**
 * Handler name of an event: `handle<Event>`. Overloaded event names (none today) would get the
 * position of the overload appended, so every signature keeps a distinct handler.
 */
export function handlerNames(events: AbiEvent[]): Map<AbiEvent, string> {
  const byName = new Map<string, AbiEvent[]>();
  for (const e of events) byName.set(e.name, [...(byName.get(e.name) ?? []), e]);
  const out = new Map<AbiEvent, string>();
  for (const [name, list] of byName) {
    list.forEach((e, i) => out.set(e, list.length === 1 ? `handle${name}` : `handle${name}${i + 1}`));
  }
  return out;
}

/** Reads every indexable contract of `artifactsDir` (sorted: known contracts first, in order). */
export function readContracts(artifactsDir: string): ContractArtifact[] {
  const root = join(artifactsDir, "contracts");
  if (!existsSync(root)) {
    throw new Error(
      `no contract artifacts in ${root}: run \`npx hardhat build\` at the repository root first (or point CARBONPROOF_ARTIFACTS at an artifacts folder)`,
    );
  }
  const found = new Map<string, ContractArtifact>();
  for (const file of walk(root)) {
    const rel = relative(root, file).split(sep).join("/");
    if (rel.startsWith("test/")) continue;
    const raw: unknown = JSON.parse(readFileSync(file, "utf8"));
    const parsed = artifactSchema.safeParse(raw);
    if (!parsed.success) continue; // artifacts.d.ts companions, build-info and the like
    const a = parsed.data;
    if (a.bytecode === "0x" || a.bytecode === "") continue; // interfaces, abstract contracts
    const events: AbiEvent[] = a.abi
      .filter((x) => x.type === "event")
      .map((x) => eventSchema.parse(x))
      .filter((e) => !e.anonymous);
    if (events.length === 0) continue; // libraries and helpers with nothing to index
    const previous = found.get(a.contractName);
    if (previous && previous.sourceName !== a.sourceName) {
      throw new Error(
        `two contracts named ${a.contractName} (${previous.sourceName}, ${a.sourceName}): data source names must be unique; rename one`,
      );
    }
    found.set(a.contractName, { name: a.contractName, sourceName: a.sourceName, abi: a.abi, events });
  }
  const order = (n: string) => {
    const i = (KNOWN_CONTRACTS as readonly string[]).indexOf(n);
    return i < 0 ? KNOWN_CONTRACTS.length : i;
  };
  return [...found.values()].sort((x, y) => order(x.name) - order(y.name) || x.name.localeCompare(y.name));
}

/** The mapping file of a contract, relative to the subgraph folder: src/mappings/<lowerCamel>.ts. */
export function mappingFileOf(contractName: string): string {
  return `src/mappings/${contractName[0]!.toLowerCase()}${contractName.slice(1)}.ts`;
}
