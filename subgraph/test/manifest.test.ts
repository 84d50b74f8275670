/**
 * The manifest generator and the handler-coverage check, on the repository's own artifacts
 * (main's contracts, whatever they are at this commit) and on small synthetic ones.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { KNOWN_CONTRACTS, manifestEventSignature, readContracts, type AbiEvent } from "../scripts/artifacts.ts";
import {
  localDeployment,
  productionDeployment,
  readNetworksConfig,
  startBlocksFromJournal,
} from "../scripts/deployments.ts";
import { generate } from "../scripts/generate.ts";
import { checkHandlers, manifestHandlers } from "../scripts/check-handlers.ts";
import { entityNames, GENERATED_HEADER } from "../scripts/manifest.ts";
import { ensureArtifacts } from "./support/artifacts.ts";

const subgraphDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const fixtureDeployment = join(subgraphDir, "test/fixtures/deployed_addresses.json");

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "cp-subgraph-"));
}

async function generateInto(
  out: string,
  artifactsDir: string,
  networksFile = join(subgraphDir, "networks.config.json"),
) {
  const lines: string[] = [];
  const result = await generate({
    subgraphDir,
    artifactsDir,
    outDir: out,
    networksFile,
    deployment: fixtureDeployment,
    log: (l) => lines.push(l),
  });
  return { result, lines };
}

test("manifestEventSignature writes tuples and indexed parameters as graph-cli expects", () => {
  const e: AbiEvent = {
    type: "event",
    name: "AttestationSubmitted",
    inputs: [
      { name: "id", type: "bytes32", indexed: true },
      { name: "signerBitmap", type: "uint128", indexed: false },
      {
        name: "header",
        type: "tuple",
        indexed: false,
        components: [
          { name: "facilityId", type: "bytes32" },
          { name: "bundleCid", type: "string" },
        ],
      },
      { name: "ids", type: "uint256[]", indexed: false },
    ],
  };
  assert.equal(manifestEventSignature(e), "AttestationSubmitted(indexed bytes32,uint128,(bytes32,string),uint256[])");
});

test("readContracts takes every deployable contract with events from main's artifacts, test contracts excluded", () => {
  const artifacts = ensureArtifacts();
  const names = readContracts(artifacts).map((c) => c.name);
  for (const n of ["DeviceRegistry", "OracleSet", "AttestationRegistry"]) assert.ok(names.includes(n), `${n} indexed`);
  for (const n of ["GasProbe", "TestUSD", "IAttestationRegistry", "Sha256Merkle", "ICarbonCredits"]) {
    assert.ok(!names.includes(n), `${n} is not a data source`);
  }
});

test("generate writes the ABIs and a local manifest whose first line says it is generated", async () => {
  const out = tempDir();
  try {
    const artifacts = ensureArtifacts();
    const { result, lines } = await generateInto(out, artifacts);
    const manifest = readFileSync(join(out, "subgraph.yaml"), "utf8");
    assert.equal(manifest.split("\n")[0], GENERATED_HEADER);
    assert.deepEqual(
      result.manifests.map((m) => m.network),
      ["hardhat"],
    );
    for (const c of result.contracts) assert.ok(existsSync(join(out, "abis", `${c}.json`)), `${c} ABI written`);
    assert.match(manifest, /address: "0x5FbDB2315678afecb367f032d93F642f64180aa3"/);
    // AttestationRegistry resolves signer bitmaps against the OracleSet of the same network.
    assert.match(
      manifest,
      /context:\n {6}oracleSet:\n {8}type: String\n {8}data: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"/,
    );
    const absent = KNOWN_CONTRACTS.filter((n) => !result.contracts.includes(n));
    if (absent.length) assert.ok(lines.some((l) => l.includes(`left out, no artifact`) && l.includes(absent[0]!)));
    assert.ok(
      lines.some((l) => l.startsWith("network arbitrum-one not emitted")),
      "no production address: says so",
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("a configured production network gets its own manifest with only its contracts", async () => {
  const out = tempDir();
  try {
    const networks = join(out, "networks.json");
    writeFileSync(
      networks,
      JSON.stringify({
        local: { network: "hardhat", chainId: 31337 },
        production: {
          network: "arbitrum-one",
          chainId: 42161,
          contracts: {
            AttestationRegistry: { address: "0x1111111111111111111111111111111111111111", startBlock: 123 },
          },
        },
      }),
    );
    const { result } = await generateInto(out, ensureArtifacts(), networks);
    const prod = result.manifests.find((m) => m.network === "arbitrum-one");
    assert.ok(prod, "production manifest written");
    assert.equal(prod.file, "subgraph.arbitrum-one.yaml");
    assert.deepEqual(prod.included, ["AttestationRegistry"]);
    const text = readFileSync(join(out, prod.file), "utf8");
    assert.match(text, /network: "arbitrum-one"/);
    assert.match(text, /startBlock: 123/);
    assert.match(text, /oracleSet:\n {8}type: String\n {8}data: ""/, "no OracleSet configured there: empty context");
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("the networks config rejects placeholders: a malformed or zero address fails with its path", () => {
  const dir = tempDir();
  try {
    const file = join(dir, "n.json");
    const base = { local: { network: "hardhat", chainId: 31337 } };
    for (const address of ["0xTODO", `0x${"0".repeat(40)}`]) {
      writeFileSync(
        file,
        JSON.stringify({
          ...base,
          production: { network: "x", chainId: 1, contracts: { OracleSet: { address, startBlock: 1 } } },
        }),
      );
      assert.throws(() => readNetworksConfig(file), /production\.contracts\.OracleSet\.address/);
    }
    writeFileSync(file, JSON.stringify({ ...base, production: { network: "x", chainId: 1, contracts: {} } }));
    const r = productionDeployment(readNetworksConfig(file), file);
    assert.equal(r.deployment, undefined);
    assert.match(r.reason!, /no contract address configured for x/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("startBlocksFromJournal takes each contract's deployment block from an Ignition journal", () => {
  const journal = [
    JSON.stringify({ type: "RUN_START", chainId: 31337 }),
    JSON.stringify({
      futureId: "CarbonProof#OracleSet",
      type: "TRANSACTION_CONFIRM",
      receipt: { blockNumber: 7, contractAddress: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512" },
    }),
    JSON.stringify({ futureId: "CarbonProof#grantVerifier", type: "TRANSACTION_CONFIRM", receipt: { blockNumber: 9 } }),
  ].join("\n");
  const blocks = startBlocksFromJournal(journal);
  assert.equal(blocks.get("CarbonProof#OracleSet"), 7);
  assert.equal(blocks.has("CarbonProof#grantVerifier"), false, "calls are not deployments");
});

test("check-handlers passes on the repository: every event of every generated ABI has a handler", async () => {
  const out = tempDir();
  try {
    await generateInto(out, ensureArtifacts());
    const r = checkHandlers(subgraphDir, out);
    assert.deepEqual(r.missing, []);
    assert.ok(r.events > 0);
    const manifest = manifestHandlers(readFileSync(join(out, "subgraph.yaml"), "utf8"));
    for (const c of r.contracts) assert.ok(manifest.get(c)?.size, `${c} has handlers in the manifest`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("check-handlers names an event whose handler is missing (a contract gains an event)", async () => {
  const out = tempDir();
  try {
    const artifacts = join(out, "artifacts");
    const source = ensureArtifacts();
    cpSync(join(source, "contracts/oracles"), join(artifacts, "contracts/oracles"), { recursive: true });
    const file = join(artifacts, "contracts/oracles/OracleSet.sol/OracleSet.json");
    const a = JSON.parse(readFileSync(file, "utf8")) as { abi: unknown[] };
    a.abi.push({
      type: "event",
      name: "NodeRenamed",
      anonymous: false,
      inputs: [{ name: "node", type: "address", indexed: true }],
    });
    writeFileSync(file, JSON.stringify(a));
    const dist = join(out, "dist");
    mkdirSync(dist);
    await generateInto(dist, artifacts);
    const r = checkHandlers(subgraphDir, dist);
    assert.deepEqual(
      r.missing.map((m) => `${m.contract}.${m.event} ${m.handler} ${m.where}`),
      ["OracleSet.NodeRenamed(indexed address) handleNodeRenamed src/mappings/oracleSet.ts"],
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("with only the attestation contracts in the artifacts, the credits data sources are left out and the check says which", async () => {
  const out = tempDir();
  try {
    const artifacts = join(out, "artifacts");
    const source = ensureArtifacts();
    for (const dir of ["devices", "oracles", "attestation", "common"]) {
      cpSync(join(source, "contracts", dir), join(artifacts, "contracts", dir), { recursive: true });
    }
    const dist = join(out, "dist");
    mkdirSync(dist);
    const { result, lines } = await generateInto(dist, artifacts);
    assert.deepEqual(result.contracts, ["DeviceRegistry", "OracleSet", "AttestationRegistry"]);
    assert.deepEqual(result.manifests[0]!.included, ["DeviceRegistry", "OracleSet", "AttestationRegistry"]);
    assert.ok(
      lines.includes(
        "left out, no artifact (not on this branch yet): CarbonCredits, RetirementCertificates, Marketplace",
      ),
      lines.join("\n"),
    );
    const r = checkHandlers(subgraphDir, dist);
    assert.deepEqual(r.missing, []);
    assert.deepEqual(r.unchecked, ["CarbonCredits", "RetirementCertificates", "Marketplace"]);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});

test("local addresses can come from a generated TypeScript module keyed by chain id", async () => {
  const dir = tempDir();
  try {
    const file = join(dir, "generated.ts");
    writeFileSync(
      file,
      `// GENERATED (test)\nexport const deployedContracts = {\n  31337: {\n    OracleSet: { address: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", abi: [], deployedOnBlock: 2 },\n  },\n  1: { OracleSet: { address: "0x1111111111111111111111111111111111111111", abi: [] } },\n} as const;\n`,
    );
    const r = await localDeployment(dir, "hardhat", 31337, file);
    assert.deepEqual(r.deployment?.contracts, {
      OracleSet: { address: "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512", startBlock: 2 },
    });
    const none = await localDeployment(dir, "hardhat", 31337);
    assert.equal(none.deployment, undefined);
    assert.match(none.reason!, /no deployment of chain 31337 found/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("every entity type of schema.graphql is created by some mapping", () => {
  const schema = readFileSync(join(subgraphDir, "schema.graphql"), "utf8");
  const sources = readdirSync(join(subgraphDir, "src/mappings"))
    .map((f) => readFileSync(join(subgraphDir, "src/mappings", f), "utf8"))
    .join("\n");
  const orphans = entityNames(schema).filter((e) => !new RegExp(`new ${e}\\(`).test(sources));
  assert.deepEqual(orphans, [], "entities no handler ever creates");
});
