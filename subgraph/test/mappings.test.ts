/**
 * The subgraph's mappings executed on a real chain: every contract deployed on an in-process
 * Hardhat network (the contract tests' fixture, test/credits/fixture.ts), a scenario run through
 * them (devices, oracle nodes, attestations, a challenge upheld, corrections, a shortfall,
 * issuances, listings, sales, retirements, transfers), and every log fed, in chain order, to the
 * handler the generated manifest names, through graph-ts's stand-in (support/graph-ts.ts) and
 * the `graph codegen` classes (support/mapping-runner.ts). The resulting entities are checked
 * against what the contracts say (supply, balances, retired amounts, debts, listings, devices).
 *
 * graph-node cannot run here: this is the mappings' source run by node, not their wasm run by
 * graph-node. What differs is stood in by graph-ts.ts and hooks.ts (and said there).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { network } from "hardhat";
// type-only: the plugins' typing of `connection.ethers` and the typechain contracts (as in test/)
import type {} from "../../hardhat.config.ts";
import type {} from "../../types/ethers-contracts/hardhat.d.ts";
import { publicKeyToXY, generateDeviceKey } from "../../sdk/src/reading/sign.ts";
import { idToBytes32 } from "../../sdk/src/ids.ts";
import { deployAll, details, header, CHALLENGE_WINDOW, DAY, Y2025 } from "../../test/credits/fixture.ts";

// The mappings import `@graphprotocol/graph-ts` and extensionless siblings: hooks before imports.
register("./support/hooks.ts", import.meta.url);
const { prepareMappings, entities, entity } = await import("./support/mapping-runner.ts");
const { __host } = await import("./support/graph-ts.ts");
type Mappings = Awaited<ReturnType<typeof prepareMappings>>;

const connection = await network.create();
const { time } = connection.networkHelpers;

type Fixture = Awaited<ReturnType<typeof deployAll>>;
let f: Fixture;
let mappings: Mappings;
let handled: Map<string, number>;
const DEVICE = idToBytes32("kangaita-chimney-1");
const DEVICE2 = idToBytes32("kangaita-meter-1");
const FACILITY = idToBytes32("ktda-kangaita");
let projectId: bigint;
let tokenId: bigint;
const attestationIds: string[] = [];
const lower = (s: string) => s.toLowerCase();

before(async () => {
  f = await deployAll(connection);
  const { credits, certificates, market, registry, deviceRegistry, oracleSet, usd } = f;

  // devices: registered, key rotated, suspended and reactivated, metadata changed; another retired
  const devices = deviceRegistry.connect(f.deviceManager) as typeof deviceRegistry;
  const k1 = publicKeyToXY(generateDeviceKey().publicKey);
  const k2 = publicKeyToXY(generateDeviceKey().publicKey);
  await devices.registerDevice(DEVICE, FACILITY, 0, k1.x, k1.y, "ipfs://chimney");
  await devices.registerDevice(DEVICE2, FACILITY, 1, k1.x, k1.y, "ipfs://meter");
  await devices.rotateKey(DEVICE, k2.x, k2.y);
  await devices.suspendDevice(DEVICE, "probe cleaning");
  await devices.reactivateDevice(DEVICE);
  await devices.setMetadataURI(DEVICE, "ipfs://chimney-v2");
  await devices.retireDevice(DEVICE2, "replaced");

  // project (baseline 1 t/day from 2025-01-01) and four attested days
  projectId = await f.registerProject(1_000_000n, Y2025);
  const h = [
    header({ day: 0n }),
    header({ day: 1n }),
    header({ day: 2n }),
    header({ day: 3n, fossilCo2eGrams: 1_200_000n }), // above the baseline: a shortfall
    header({ day: 4n, fossilCo2eGrams: 950_000n }), // 50 kg of reduction, less than the debt then
  ];
  for (const [i, x] of h.entries()) attestationIds.push(await f.attest(x, i % 2 === 0 ? [0, 1] : [1, 2]));

  // day 2 challenged and upheld (CarbonCredits has the registry revoke it); day 1 corrected before issuance
  await credits.connect(f.auditor).challenge(attestationIds[2]!, "stuck sensor", "bafkreievidence");
  await credits.connect(f.arbiter).resolveChallenge(attestationIds[2]!, true, "confirmed");
  const c1 = header({ correctionOf: attestationIds[1]!, periodStart: h[1]!.periodStart, fossilCo2eGrams: 1_000n });
  await f.attestCorrection(c1, h[1]!);

  await time.increase(CHALLENGE_WINDOW);
  await credits.recordCorrection(c1);
  await credits.connect(f.verifier).issue(projectId, h[0]!, 400n);
  await credits.connect(f.verifier).issue(projectId, h[1]!, 399n);
  await credits.connect(f.verifier).recordShortfall(projectId, h[3]!);
  // a correction of an issued day: the project owes its grams
  const c0 = header({ correctionOf: attestationIds[0]!, periodStart: h[0]!.periodStart, fossilCo2eGrams: 5_000n });
  await f.attestCorrection(c0, h[0]!);
  // the revoked day re-attested by a correction above the baseline: recording it settles the day
  const c2 = header({ correctionOf: attestationIds[2]!, periodStart: h[2]!.periodStart, fossilCo2eGrams: 1_100_000n });
  await f.attestCorrection(c2, h[2]!);
  await time.increase(CHALLENGE_WINDOW);
  await credits.recordCorrection(c0);
  await credits.recordCorrection(c2);
  // the debt (305 kg) takes all of day 4's 50 kg: an issuance of 0 kg, which mints nothing
  await credits.connect(f.verifier).issue(projectId, h[4]!, 0n);
  tokenId = await credits.tokenIdOf(projectId, 2025n);

  // market: list, reprice, buy, buy-and-retire, cancel; direct retirement and a transfer
  const marketAddress = await market.getAddress();
  await credits.connect(f.proponent).setApprovalForAll(marketAddress, true);
  const expiresAt = BigInt(await time.latest()) + 14n * DAY;
  await market.connect(f.proponent).list(tokenId, 500n, await usd.getAddress(), 12_000n, 10n, expiresAt);
  await market.connect(f.proponent).list(tokenId, 100n, await usd.getAddress(), 15_000n, 10n, expiresAt);
  await market.connect(f.proponent).updatePrice(1n, 11_000n);
  for (const b of [f.buyer, f.buyer2]) {
    await usd.mint(b.address, 100_000_000n);
    await usd.connect(b).approve(marketAddress, 100_000_000n);
  }
  await market.connect(f.buyer).buy(1n, 200n, 10n ** 18n);
  await market
    .connect(f.buyer2)
    .buyAndRetire(1n, 50n, 10n ** 18n, details(f.buyer2.address, { consumptionCountry: "0x4b454e" }));
  await market.connect(f.proponent).cancel(2n);
  await certificates.connect(f.buyer).retire(tokenId, 30n, details(f.other.address));
  await credits.connect(f.buyer).safeTransferFrom(f.buyer.address, f.other.address, tokenId, 70n, "0x");
  await credits
    .connect(f.buyer)
    .safeBatchTransferFrom(f.buyer.address, f.other.address, [tokenId, tokenId], [10n, 5n], "0x");

  // settings, pauses, roles, the oracle set and the project's own settings
  const [node2] = [f.nodes[2]!.address];
  await oracleSet.connect(f.admin).removeNode(node2);
  await oracleSet.connect(f.admin).addNode(node2); // reactivated at its index
  await oracleSet.connect(f.admin).setThreshold(3n);
  await registry.connect(f.pauser).pause();
  await registry.connect(f.pauser).unpause();
  await credits.connect(f.admin).pause();
  await credits.connect(f.admin).unpause();
  await market.connect(f.admin).pause();
  await market.connect(f.admin).unpause();
  await market.connect(f.admin).setFee(300n, f.treasury.address);
  await credits.connect(f.admin).setChallengeWindow(2n * DAY);
  await credits.connect(f.verifier).setBaseline(projectId, Y2025 + 200n * DAY, 900_000n, "bafkreibaseline2");
  await credits.connect(f.verifier).setProjectActive(projectId, false);
  await credits.connect(f.verifier).setProjectActive(projectId, true);
  await credits.connect(f.proponent).setProponent(projectId, f.other.address);
  // roles given up last: each contract's RoleRevoked
  await deviceRegistry.connect(f.admin).revokeRole(await deviceRegistry.DEVICE_MANAGER_ROLE(), f.deviceManager.address);
  await registry.connect(f.admin).revokeRole(await registry.PAUSER_ROLE(), f.pauser.address);
  await credits.connect(f.admin).revokeRole(await credits.PAUSER_ROLE(), f.admin.address);
  await market.connect(f.admin).revokeRole(await market.PAUSER_ROLE(), f.admin.address);
  await certificates.connect(f.admin).revokeRole(await certificates.ESCROW_ROLE(), marketAddress);
  await oracleSet.connect(f.admin).renounceRole(await oracleSet.DEFAULT_ADMIN_ROLE(), f.admin.address);

  mappings = await prepareMappings({
    "CarbonProof#DeviceRegistry": await deviceRegistry.getAddress(),
    "CarbonProof#OracleSet": await oracleSet.getAddress(),
    "CarbonProof#AttestationRegistry": await registry.getAddress(),
    "Credits#CarbonCredits": await credits.getAddress(),
    "Credits#RetirementCertificates": await certificates.getAddress(),
    "Credits#Marketplace": marketAddress,
  });
  handled = await mappings.index((method, params) => f.ethers.provider.send(method, params));
});

after(() => mappings?.cleanup());

/**
 * Handlers no call of these contracts can reach: OpenZeppelin emits RoleAdminChanged only from
 * `_setRoleAdmin` and EIP712DomainChanged only on a domain change, which the contracts never make;
 * CarbonCredits never changes a token's URI; certificates are soulbound (approvals revert, never
 * unlocked).
 */
const UNREACHABLE = new Set([
  "AttestationRegistry.handleEIP712DomainChanged",
  "AttestationRegistry.handleRoleAdminChanged",
  "CarbonCredits.handleRoleAdminChanged",
  "CarbonCredits.handleURI",
  "DeviceRegistry.handleRoleAdminChanged",
  "Marketplace.handleRoleAdminChanged",
  "OracleSet.handleRoleAdminChanged",
  "RetirementCertificates.handleApproval",
  "RetirementCertificates.handleApprovalForAll",
  "RetirementCertificates.handleRoleAdminChanged",
  "RetirementCertificates.handleUnlocked",
]);

test("every handler of the manifest is executed, but for events the contracts cannot emit; none logs an error", () => {
  assert.deepEqual(mappings.dataSources.map((d) => d.name).sort(), [
    "AttestationRegistry",
    "CarbonCredits",
    "DeviceRegistry",
    "Marketplace",
    "OracleSet",
    "RetirementCertificates",
  ]);
  const all = mappings.dataSources.flatMap((d) => [...d.handlers.values()].map((h) => `${d.name}.${h}`)).sort();
  assert.deepEqual(
    all.filter((h) => !handled.has(h)),
    [...UNREACHABLE].sort(),
  );
  assert.deepEqual(
    __host.logs.filter((l) => l.level === "error" || l.level === "critical"),
    [],
  );
});

test("settings, pauses and roles as the contracts have them", async () => {
  for (const c of [f.registry, f.credits, f.market]) {
    const e = entity("ProtocolContract", lower(await c.getAddress()));
    assert.equal(e.paused, await c.paused());
    const changes = [...entities("PauseChange").values()].filter((p) => p.contract === e.id);
    assert.deepEqual(
      changes.map((p) => p.paused),
      [true, false],
    );
  }
  const credits = entity("ProtocolContract", lower(await f.credits.getAddress()));
  assert.equal(credits.kind, "CarbonCredits");
  assert.equal(credits.challengeWindowSeconds, await f.credits.challengeWindow());
  assert.equal(credits.certificates, lower(await f.credits.certificates()));
  assert.equal(credits.explorerBaseUrl, await f.credits.explorerBaseUrl());
  const market = entity("ProtocolContract", lower(await f.market.getAddress()));
  assert.equal(market.feeBps, Number(await f.market.feeBps()));
  assert.equal(market.treasury, lower(await f.market.treasury()));
  for (const [id, t] of entities("PaymentToken")) assert.equal(t.allowed, await f.market.isPaymentToken(id));
  // every role membership the subgraph knows is what hasRole says
  const contracts = new Map<string, { hasRole(role: string, account: string): Promise<boolean> }>(
    await Promise.all(
      [f.deviceRegistry, f.oracleSet, f.registry, f.credits, f.market, f.certificates].map(
        async (c) => [lower(await c.getAddress()), c] as const,
      ),
    ),
  );
  const memberships = [...entities("RoleMembership").values()];
  assert.ok(memberships.length > 10);
  for (const m of memberships) {
    const c = contracts.get(m.contract as string)!;
    assert.equal(m.active, await c.hasRole(m.role as string, m.account as string), `${m.roleName} of ${m.account}`);
  }
  const manager = memberships.find(
    (m) => m.roleName === "DEVICE_MANAGER_ROLE" && m.account === lower(f.deviceManager.address),
  );
  assert.equal(manager?.active, false);
});

test("devices: status, kind, key history and facility counts as the DeviceRegistry has them", async () => {
  for (const id of [DEVICE, DEVICE2]) {
    const onChain = await f.deviceRegistry.getDevice(id);
    const d = entity("Device", lower(id));
    assert.equal(d.status, ["None", "Active", "Suspended", "Retired"][Number(onChain.status)]);
    assert.equal(d.kind, ["FlueGas", "ElectricityMeter", "FuelMeter", "ManualEntry"][Number(onChain.kind)]);
    assert.equal(d.keyCount, onChain.keyHistory.length);
    assert.equal(d.metadataURI, onChain.metadataURI);
    assert.equal(d.facility, lower(FACILITY));
  }
  assert.equal(entity("Device", lower(DEVICE)).code, "kangaita-chimney-1");
  const current = await f.deviceRegistry.currentKey(DEVICE);
  const key = entity("DeviceKey", entity("Device", lower(DEVICE)).currentKey as string);
  assert.equal(key.x, lower(current.x));
  assert.equal(key.validFrom, current.validFrom);
  // every key of the history, as getDevice's keyHistory has it (the first valid from 0)
  for (const [, k] of entities("DeviceKey")) {
    const onChain = (await f.deviceRegistry.getDevice(k.device as string)).keyHistory[k.index as number]!;
    assert.deepEqual([k.x, k.y, k.validFrom], [lower(onChain.x), lower(onChain.y), onChain.validFrom], `key ${k.id}`);
  }
  assert.equal(entities("DeviceKey").size, 3);
  const facility = entity("Facility", lower(FACILITY));
  assert.equal(facility.code, "ktda-kangaita");
  assert.equal(facility.deviceCount, 2);
  assert.equal(facility.activeDeviceCount, 1);
  assert.equal(entities("DeviceEvent").size, 7);
});

test("oracle nodes: one per node of the OracleSet at its index, and the threshold", async () => {
  const set = lower(await f.oracleSet.getAddress());
  const nodes = [...entities("OracleNode").values()];
  assert.equal(nodes.length, Number(await f.oracleSet.nodeCount()));
  for (const n of nodes) {
    assert.equal(lower(await f.oracleSet.nodeAt(n.index as number)), n.address);
    assert.equal(n.active, await f.oracleSet.isActiveNode(n.address as string));
  }
  const kinds = [...entities("QuorumChange").values()].map((c) => c.kind);
  assert.deepEqual(
    kinds.filter((k) => k !== "NodeAdded"),
    ["ThresholdChanged", "NodeRemoved", "NodeReactivated", "ThresholdChanged"],
  );
  const s = entity("OracleSet", set);
  assert.equal(s.threshold, Number(await f.oracleSet.threshold()));
  assert.equal(s.activeNodeCount, Number(await f.oracleSet.activeCount()));
  // signer bitmaps resolved to nodes: each attestation's signatures are those the registry knows
  for (const id of attestationIds) {
    const a = entity("Attestation", lower(id));
    const signers = [...entities("AttestationSignature").values()]
      .filter((s) => s.attestation === lower(id))
      .map((s) => entity("OracleNode", s.node as string).address as string);
    assert.equal(signers.length, a.signerCount);
    for (const signer of signers) assert.ok(await f.registry.wasSignedBy(id, signer), `${signer} signed ${id}`);
  }
});

test("attestations: revoked as the registry says, emission totals without the revoked one", async () => {
  const all = [...entities("Attestation").values()];
  assert.equal(all.length, 8, "five days and three corrections");
  let fossil = 0n;
  let readings = 0n;
  for (const a of all) {
    assert.equal(a.revoked, await f.registry.isRevoked(a.id as string), `revoked ${a.id}`);
    const onChain = await f.registry.getAttestation(a.id as string);
    assert.equal(a.signerBitmap, onChain.signerBitmap);
    assert.equal(a.merkleRoot, lower(onChain.merkleRoot));
    if (!a.revoked) {
      fossil += a.fossilCo2eGrams as bigint;
      readings += a.readingCount as bigint;
    }
  }
  const facility = entity("Facility", lower(FACILITY));
  assert.equal(facility.attestationCount, 8);
  assert.equal(facility.revokedAttestationCount, 1);
  assert.equal(facility.fossilCo2eGrams, fossil);
  assert.equal(facility.readingCount, readings);
  assert.equal(facility.attestedUntil, await f.registry.attestedUntil(FACILITY));
  const stat = entity("ProtocolStat", "all");
  assert.equal(stat.fossilCo2eGrams, fossil);
  // the upheld challenge is linked from the revocation
  const revoked = lower(attestationIds[2]!);
  assert.equal(entity("Challenge", revoked).state, "Upheld");
  assert.equal(entity("Revocation", revoked).challenge, revoked);
  assert.equal(entity("Attestation", revoked).challengeState, "Upheld");
});

test("credits: supply, issued and retired per token id as CarbonCredits.supplyOf says; balances as balanceOf", async () => {
  const credit = entity("Credit", tokenId.toString());
  const supply = await f.credits.supplyOf(tokenId);
  assert.equal(credit.issuedKg, supply.issued);
  assert.equal(credit.retiredKg, supply.retired);
  assert.equal(credit.supplyKg, await f.credits.totalSupply(tokenId));
  assert.equal(credit.retirementCount, Number(supply.retirements));
  const balances = [...entities("Balance").values()].filter((b) => b.credit === tokenId.toString());
  let holders = 0;
  let sum = 0n;
  for (const b of balances) {
    assert.equal(b.amountKg, await f.credits.balanceOf(b.account as string, tokenId), `balance of ${b.account}`);
    if ((b.amountKg as bigint) > 0n) holders++;
    sum += b.amountKg as bigint;
  }
  assert.equal(sum, supply.issued - supply.retired, "balances add up to the supply");
  assert.equal(credit.holderCount, holders);
  for (const who of [f.proponent, f.buyer, f.buyer2, f.other]) {
    const mine = balances.find((b) => b.account === lower(who.address));
    assert.equal(mine?.amountKg ?? 0n, await f.credits.balanceOf(who.address, tokenId), who.address);
  }
  // one CreditTransfer per entry of a batch (ids: transaction hash ++ log index ++ entry)
  const transfers = [...entities("CreditTransfer").values()];
  const batch = transfers.filter((t) => (t.id as string).length === 2 + 2 * (32 + 4 + 4));
  assert.deepEqual(
    batch.map((t) => t.amountKg),
    [10n, 5n],
  );
  assert.equal(batch[0]!.transactionHash, batch[1]!.transactionHash);
  const minted = transfers.filter((t) => t.kind === "Issuance").reduce((a, t) => a + (t.amountKg as bigint), 0n);
  const burned = transfers.filter((t) => t.kind === "Retirement").reduce((a, t) => a + (t.amountKg as bigint), 0n);
  assert.equal(minted, supply.issued);
  assert.equal(burned, supply.retired);
  // the daily aggregates add up to the same totals
  const total = (type: string, field: string) =>
    [...entities(type).values()].reduce((a, d) => a + (d[field] as bigint), 0n);
  for (const type of ["DailyStat", "FacilityDailyStat"]) {
    assert.equal(total(type, "issuedKg"), supply.issued, `${type} issuedKg`);
    assert.equal(total(type, "retiredKg"), supply.retired, `${type} retiredKg`);
    assert.equal(total(type, "soldKg"), 250n, `${type} soldKg`);
    assert.equal(total(type, "fossilCo2eGrams"), entity("Facility", lower(FACILITY)).fossilCo2eGrams, `${type} fossil`);
  }
  const stat = entity("ProtocolStat", "all");
  assert.equal(stat.issuedKg, supply.issued);
  assert.equal(stat.retiredKg, supply.retired);
});

test("projects: issued, retired and owed grams as CarbonCredits keeps them", async () => {
  const p = entity("Project", projectId.toString());
  const onChain = await f.credits.getProject(projectId);
  assert.equal(p.owedGrams, onChain.correctionDebtGrams);
  assert.equal(p.issuedKg, 799n);
  assert.equal(p.retiredKg, (await f.credits.supplyOf(tokenId)).retired);
  assert.equal(p.proponent, lower(onChain.proponent));
  assert.equal(p.active, onChain.active);
  assert.equal(p.baselineCount, (await f.credits.getBaselines(projectId)).length);
  assert.equal(entity("Baseline", p.currentBaseline as string).gramsPerDay, 900_000n);
  assert.equal(entity("Shortfall", lower(attestationIds[3]!)).excessGrams, 200_000n);
  // the revoked day, settled by its correction: 1.1 t against a 1 t baseline
  assert.equal(entity("Shortfall", lower(attestationIds[2]!)).excessGrams, 100_000n);
  assert.equal(entity("Attestation", lower(attestationIds[2]!)).shortfall, lower(attestationIds[2]!));
  const issuances = [...entities("Issuance").values()];
  assert.deepEqual(issuances.map((i) => i.amountKg).sort(), [0n, 399n, 400n]);
  const empty = entity("Issuance", lower(attestationIds[4]!));
  assert.equal(empty.credit, undefined, "no Credit for a 0 kg issuance");
  assert.equal(empty.correctionGramsCovered, 50_000n);
  for (const i of issuances) {
    const use = await f.credits.attestationUse(i.attestation as string);
    assert.equal(i.amountKg, use.amount);
  }
});

test("listings and sales as the Marketplace has them", async () => {
  for (const [id, l] of entities("Listing")) {
    const onChain = await f.market.getListing(BigInt(id));
    assert.equal(l.remainingKg, onChain.remaining, `listing ${id} remaining`);
    assert.equal(l.unitPrice, onChain.unitPrice, `listing ${id} price`);
  }
  assert.equal(entity("Listing", "1").status, "Open");
  assert.equal(entity("Listing", "2").status, "Cancelled");
  const sales = [...entities("Sale").values()];
  assert.deepEqual(sales.map((s) => [s.amountKg, s.retired]).sort(), [
    [200n, false],
    [50n, true],
  ]);
  assert.equal(entity("ProtocolStat", "all").soldKg, 250n);
});

test("retirements and certificates as RetirementCertificates has them", async () => {
  const retirements = [...entities("Retirement").values()];
  assert.equal(retirements.length, 2);
  for (const r of retirements) {
    const c = await f.certificates.getCertificate(BigInt(r.certificate as string));
    assert.equal(r.amountKg, c.amount);
    assert.equal(r.beneficiary, lower(c.beneficiary));
    assert.equal(r.credit, c.creditId.toString());
    const cert = entity("Certificate", r.certificate as string);
    assert.equal(cert.owner, lower(await f.certificates.ownerOf(BigInt(r.certificate as string))));
    assert.equal(cert.locked, await f.certificates.locked(BigInt(r.certificate as string)));
  }
  assert.deepEqual(retirements.map((r) => r.consumptionCountryCode ?? null).sort(), ["KEN", null]);
});
