/**
 * The mappings on the demo data: a Hardhat node, the Ignition deployment and scripts/seed-demo.ts
 * (the web indexer's test chain, web/src/server/indexer/testChain.ts), every log fed to the
 * manifest's handlers (support/mapping-runner.ts), and every entity that mirrors contract state
 * checked against a contract read. This is the check docs/subgraph.md asks of a first real
 * graph-node deployment, made on the mappings' source under node.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { Contract, JsonRpcProvider } from "ethers";

register("./support/hooks.ts", import.meta.url);
// Imported by URL: the web's module graph is type-checked by web's tsconfig (its "@/" paths),
// which this package's cannot resolve; the part used here is typed below.
type TestChain = { rpcUrl: string; addresses: Record<string, string>; stop: () => Promise<void> };
const { startTestChain } = (await import(
  new URL("../../web/src/server/indexer/testChain.ts", import.meta.url).href
)) as {
  startTestChain: () => Promise<TestChain>;
};
const { entities, httpRpc, prepareMappings } = await import("./support/mapping-runner.ts");
const { __host } = await import("./support/graph-ts.ts");

let chain: TestChain;
let mappings: Awaited<ReturnType<typeof prepareMappings>>;
let provider: JsonRpcProvider;
const contracts = new Map<string, Contract>();
let handled = 0;

/** The deployed contract `name`, through the ABI of its data source. */
function contract(name: string): Contract {
  return contracts.get(name)!;
}

before(async () => {
  chain = await startTestChain();
  const a = chain.addresses;
  mappings = await prepareMappings({
    "CarbonProof#DeviceRegistry": a.DeviceRegistry!,
    "CarbonProof#OracleSet": a.OracleSet!,
    "CarbonProof#AttestationRegistry": a.AttestationRegistry!,
    "Credits#CarbonCredits": a.CarbonCredits!,
    "Credits#RetirementCertificates": a.RetirementCertificates!,
    "Credits#Marketplace": a.Marketplace!,
  });
  handled = [...(await mappings.index(httpRpc(chain.rpcUrl))).values()].reduce((x, n) => x + n, 0);
  provider = new JsonRpcProvider(chain.rpcUrl, undefined, { staticNetwork: true });
  for (const ds of mappings.dataSources) contracts.set(ds.name, new Contract(ds.address, ds.abi, provider));
});

after(async () => {
  provider?.destroy();
  mappings?.cleanup();
  await chain?.stop();
});

test("seed-demo: every event is indexed without a handler failing or logging an error", () => {
  assert.ok(handled > 20, `${handled} events handled`);
  assert.deepEqual(
    __host.logs.filter((l) => l.level === "error" || l.level === "critical"),
    [],
  );
  for (const type of ["Facility", "Device", "Attestation", "Project", "Credit", "Balance", "Listing"]) {
    assert.ok(entities(type).size > 0, `some ${type}`);
  }
});

test("seed-demo: credits' supply, issued and retired as supplyOf, every balance as balanceOf", async () => {
  const credits = contract("CarbonCredits");
  for (const [id, c] of entities("Credit")) {
    const supply = await credits.getFunction("supplyOf")(BigInt(id));
    assert.equal(c.issuedKg, supply.issued, `credit ${id} issued`);
    assert.equal(c.retiredKg, supply.retired, `credit ${id} retired`);
    assert.equal(c.supplyKg, await credits.getFunction("totalSupply")(BigInt(id)), `credit ${id} supply`);
  }
  for (const [, b] of entities("Balance")) {
    const onChain = await credits.getFunction("balanceOf")(b.account, BigInt(b.credit as string));
    assert.equal(b.amountKg, onChain, `balance of ${b.account} in ${b.credit}`);
  }
});

test("seed-demo: projects' debts and attestations' revocations as the contracts keep them", async () => {
  const credits = contract("CarbonCredits");
  const registry = contract("AttestationRegistry");
  for (const [id, p] of entities("Project")) {
    const onChain = await credits.getFunction("getProject")(BigInt(id));
    assert.equal(p.owedGrams, onChain.correctionDebtGrams, `project ${id} owes`);
    assert.equal(p.active, onChain.active, `project ${id} active`);
  }
  for (const [id, a] of entities("Attestation")) {
    assert.equal(a.revoked, await registry.getFunction("isRevoked")(id), `attestation ${id} revoked`);
  }
  for (const [id, f] of entities("Facility")) {
    assert.equal(f.attestedUntil, await registry.getFunction("attestedUntil")(id), `facility ${id} attested until`);
  }
});

test("seed-demo: devices and listings as their contracts have them", async () => {
  const devices = contract("DeviceRegistry");
  const market = contract("Marketplace");
  for (const [id, d] of entities("Device")) {
    const onChain = await devices.getFunction("getDevice")(id);
    assert.equal(d.status, ["None", "Active", "Suspended", "Retired"][Number(onChain.status)], `device ${id}`);
    assert.equal(d.keyCount, onChain.keyHistory.length, `device ${id} keys`);
  }
  for (const [id, l] of entities("Listing")) {
    const onChain = await market.getFunction("getListing")(BigInt(id));
    assert.equal(l.remainingKg, onChain.remaining, `listing ${id} remaining`);
  }
});
