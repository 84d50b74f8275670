/**
 * Gas of the credits side of the chain of custody: issue, list, buy (partial fill, ERC-20),
 * retire (with certificate), buy-and-retire. Targets (issue 5): issue ≤ 120,000; buy ≤ 110,000;
 * retire ≤ 160,000; buy-and-retire ≤ 230,000. Every figure is the transaction's `gasUsed` (21,000
 * base and calldata included).
 *
 * bench/gas.ts imports this file and calls `measure(ctx)` with its deployed AttestationRegistry;
 * `node bench/gas-credits.ts` runs it alone (deploying the attestation contracts with
 * test/carbonProofFixture.ts), prints the table, writes bench/gas-credits.snapshot.json (committed)
 * and prints the figures as JSON on the last line.
 *
 * Scenarios (the common case, fixed so figures compare between commits):
 * - issue: second issuance into an existing (project, vintage), to the proponent who already holds
 *   it; `firstIssueGas` is the very first issuance of the vintage (new balance and supply slots).
 * - list: 1,000 kg, ERC-20 price, seller already approved the market.
 * - buy: 100 kg of that listing, already partly filled once (so seller and treasury hold tUSD), by a
 *   buyer who holds none of the credit yet; fee 2.5 %, finite allowance.
 * - retire: 40 kg of the buyer's credits, beneficiary = buyer (first certificate), name and reason
 *   ≤ 31 bytes each, no consumption country or period.
 * - buyAndRetire: 100 kg bought by a second buyer, certificate to that buyer (first certificate).
 */
import type { BaseContract, ContractTransactionResponse, Wallet } from "ethers";
import type { HardhatEthers, HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { deployCredits, details, header, quorumSignatures, CHALLENGE_WINDOW } from "../test/credits/fixture.ts";
import { encodeBytes32String } from "ethers";

export const CREDITS_GAS_TARGETS = { issueGas: 120_000, buyGas: 110_000, retireGas: 160_000, buyAndRetireGas: 230_000 };

export interface CreditsGas {
  issueGas: number;
  firstIssueGas: number;
  listGas: number;
  buyGas: number;
  retireGas: number;
  buyAndRetireGas: number;
}

/** The subset of bench/gas.ts' GasBenchContext this file needs. */
export interface CreditsBenchContext {
  ethers: HardhatEthers;
  deployer: HardhatEthersSigner;
  contracts: { attestationRegistry: BaseContract };
  oracleWallets: Wallet[];
  gasOf: (tx: Promise<ContractTransactionResponse>) => Promise<number>;
}

type Row = { name: string; gas: number; target?: number; note?: string };

/** Deploys the credits contracts on ctx's registry and measures each operation once. */
export async function measureCredits(ctx: CreditsBenchContext): Promise<CreditsGas> {
  const { ethers, deployer, gasOf } = ctx;
  const registryAddress = await ctx.contracts.attestationRegistry.getAddress();
  const registry = await ethers.getContractAt("AttestationRegistry", registryAddress, deployer);
  const signers = await ethers.getSigners();
  const others = signers.filter((s) => s.address !== deployer.address);
  const [verifier, proponent, treasury, buyer, buyer2, earlyBuyer] = others.slice(-6);
  const { credits, certificates, market, usd } = await deployCredits(
    ethers,
    registryAddress,
    deployer,
    treasury.address,
  );
  await (await credits.grantRole(await credits.VERIFIER_ROLE(), verifier.address)).wait();

  // Hour-long periods ending an hour ago: past (the registry's rule), inside one UTC year but for
  // three hours a year.
  const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
  const facilityId = encodeBytes32String("bench-credits-facility");
  const h1 = header({ facilityId, periodStart: now - 3n * 3600n, periodEnd: now - 2n * 3600n });
  const h2 = header({ facilityId, periodStart: now - 2n * 3600n, periodEnd: now - 3600n });
  await (
    await credits.connect(verifier).registerProject({
      proponent: proponent.address,
      facilityId,
      methodologyId: h1.methodologyId,
      name: "Bench project",
      standard: "CarbonProof Standard v1",
      baselineEffectiveFrom: now - 30n * 86_400n,
      baselineGramsPerDay: 100_000_000n,
      baselineCid: "bafkreibaseline",
    })
  ).wait();
  const projectId = await credits.projectCount();
  for (const h of [h1, h2]) {
    const id: string = await registry.attestationIdOf(h);
    const sigs = quorumSignatures(id, ctx.oracleWallets.slice(0, 3));
    await (await (registry.connect(ctx.oracleWallets[0]) as typeof registry).submit(h, sigs)).wait();
  }
  await ethers.provider.send("evm_increaseTime", [Number(CHALLENGE_WINDOW)]);
  await ethers.provider.send("evm_mine", []);

  const firstIssueGas = await gasOf(credits.connect(verifier).issue(projectId, h1, 400n));
  const issueGas = await gasOf(credits.connect(verifier).issue(projectId, h2, 1_000n));
  const year = new Date(Number(h1.periodStart) * 1000).getUTCFullYear();
  const tokenId = await credits.tokenIdOf(projectId, year);

  const marketAddress = await market.getAddress();
  await (await credits.connect(proponent).setApprovalForAll(marketAddress, true)).wait();
  const expiresAt = now + 90n * 86_400n;
  const listGas = await gasOf(
    market.connect(proponent).list(tokenId, 1_000n, await usd.getAddress(), 10_000n, 10n, expiresAt),
  );
  const listingId = await market.listingCount();
  for (const b of [buyer, buyer2, earlyBuyer]) {
    await (await usd.mint(b.address, 100_000_000_000n)).wait();
    await (await usd.connect(b).approve(marketAddress, 50_000_000_000n)).wait();
  }
  await (await market.connect(earlyBuyer).buy(listingId, 50n, 1_000_000n)).wait();
  const buyGas = await gasOf(market.connect(buyer).buy(listingId, 100n, 1_000_000n));
  const retireGas = await gasOf(certificates.connect(buyer).retire(tokenId, 40n, details(buyer.address)));
  const buyAndRetireGas = await gasOf(
    market.connect(buyer2).buyAndRetire(listingId, 100n, 1_000_000n, details(buyer2.address)),
  );
  return { issueGas, firstIssueGas, listGas, buyGas, retireGas, buyAndRetireGas };
}

/** Table rows in bench/gas.ts' format. */
export function rowsOf(gas: CreditsGas): Row[] {
  return [
    { name: "issue (existing vintage)", gas: gas.issueGas, target: CREDITS_GAS_TARGETS.issueGas, note: "tx gasUsed" },
    { name: "issue (first of a vintage)", gas: gas.firstIssueGas, note: "tx gasUsed" },
    { name: "list (escrow)", gas: gas.listGas, note: "tx gasUsed" },
    { name: "buy (partial fill, ERC-20)", gas: gas.buyGas, target: CREDITS_GAS_TARGETS.buyGas, note: "tx gasUsed" },
    { name: "retire with certificate", gas: gas.retireGas, target: CREDITS_GAS_TARGETS.retireGas, note: "tx gasUsed" },
    {
      name: "buy-and-retire",
      gas: gas.buyAndRetireGas,
      target: CREDITS_GAS_TARGETS.buyAndRetireGas,
      note: "tx gasUsed",
    },
  ];
}

/** Entry point for bench/gas.ts: figures for the JSON line and rows for its table. */
export async function measure(ctx: CreditsBenchContext): Promise<{ json: Record<string, unknown>; rows: Row[] }> {
  const gas = await measureCredits(ctx);
  return { json: { ...gas }, rows: rowsOf(gas) };
}

/** Prints the rows against their targets. */
export function printTable(rows: Row[]): void {
  const width = Math.max(...rows.map((r) => r.name.length));
  for (const r of rows) {
    const result = r.target === undefined ? "" : r.gas <= r.target ? "PASS" : "MISS";
    console.log(
      `${r.name.padEnd(width)}  ${r.gas.toLocaleString("en-US").padStart(9)}  ${(r.target?.toLocaleString("en-US") ?? "").padStart(9)}  ${result}`,
    );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { network } = await import("hardhat");
  const { deployCarbonProof } = await import("../test/carbonProofFixture.ts");
  const connection = await network.create();
  const cp = await deployCarbonProof(connection, 3, 2);
  const gasOf = async (tx: Promise<ContractTransactionResponse>) => Number((await (await tx).wait())!.gasUsed);
  const gas = await measureCredits({
    ethers: connection.ethers,
    deployer: cp.admin,
    contracts: { attestationRegistry: cp.registry },
    oracleWallets: cp.oracles.map((o) => o.wallet),
    gasOf,
  });
  printTable(rowsOf(gas));
  // The committed snapshot of these figures: diff it in review (bench/gas.ts writes the combined one).
  const { writeFile } = await import("node:fs/promises");
  await writeFile(new URL("./gas-credits.snapshot.json", import.meta.url), JSON.stringify(gas, null, 2) + "\n");
  console.log(JSON.stringify(gas));
}
