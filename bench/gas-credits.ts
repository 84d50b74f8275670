/**
 * Gas of the credits side of the chain of custody: issue, list, buy (partial fill, ERC-20),
 * retire (with certificate), buy-and-retire. Targets (issue 5): issue ≤ 120,000; buy ≤ 110,000;
 * retire ≤ 160,000; buy-and-retire ≤ 230,000.
 *
 * `measure(ctx)` is imported by bench/gas.ts; `node bench/gas-credits.ts` runs it alone and prints
 * a table, then the figures as JSON on the last line.
 *
 * Scenarios (each is the common case, stated so figures are comparable between commits):
 * - issue: second issuance into an existing (project, vintage) to the proponent, who already holds it;
 *   `firstIssueGas` is the very first issuance of the vintage (new balance and supply slots).
 * - list: 1,000 kg, ERC-20 price, seller already approved the market.
 * - buy: 100 kg of that listing (already partly filled once, so seller and treasury hold tUSD) by a
 *   buyer who holds none of the credit yet, fee 2.5 %, paid from a tUSD balance with a finite allowance.
 * - retire: 40 kg of the buyer's credits, beneficiary = buyer (first certificate), name and reason
 *   ≤ 31 bytes each.
 * - buyAndRetire: 100 kg bought by a second buyer, certificate to that buyer (first certificate).
 */
import { network } from "hardhat";
import type { HardhatEthers } from "@nomicfoundation/hardhat-ethers/types";
import type { NetworkHelpers } from "@nomicfoundation/hardhat-network-helpers/types";
import { deployAll, header, details, CHALLENGE_WINDOW, DAY, Y2026 } from "../test/credits/fixture.ts";

export interface CreditsGas {
  issueGas: number;
  firstIssueGas: number;
  listGas: number;
  buyGas: number;
  retireGas: number;
  buyAndRetireGas: number;
}

export const CREDITS_GAS_TARGETS = { issueGas: 120_000, buyGas: 110_000, retireGas: 160_000, buyAndRetireGas: 230_000 };

interface Context {
  ethers: HardhatEthers;
  networkHelpers: NetworkHelpers;
}

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<number> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction has no receipt");
  return Number(receipt.gasUsed);
}

/** Deploys the credits stack on `ctx`'s network and measures each operation once. */
export async function measure(ctx: Context): Promise<CreditsGas> {
  const { ethers, networkHelpers } = ctx;
  const f = await deployAll(ethers);
  const [, , , , , , , , buyer2, earlyBuyer] = await ethers.getSigners();
  const projectId = await f.registerProject();
  const h1 = header({ periodStart: Y2026, periodEnd: Y2026 + DAY });
  const h2 = header({ periodStart: Y2026 + DAY, periodEnd: Y2026 + 2n * DAY });
  await f.attest(h1);
  await f.attest(h2);
  await networkHelpers.time.increase(CHALLENGE_WINDOW);

  const firstIssueGas = await gasOf(f.credits.connect(f.verifier).issue(projectId, h1, 400n));
  const issueGas = await gasOf(f.credits.connect(f.verifier).issue(projectId, h2, 400n));
  const tokenId = await f.credits.tokenIdOf(projectId, 2026n);

  const market = await f.market.getAddress();
  await f.credits.connect(f.proponent).setApprovalForAll(market, true);
  const now = BigInt(await networkHelpers.time.latest());
  const listGas = await gasOf(
    f.market.connect(f.proponent).list(tokenId, 600n, await f.usd.getAddress(), 10_000n, 10n, now + 30n * DAY),
  );
  for (const b of [f.buyer, buyer2, earlyBuyer]) {
    await f.usd.mint(b.address, 100_000_000_000n);
    await f.usd.connect(b).approve(market, 50_000_000_000n);
  }
  // An earlier partial fill: seller and treasury already hold tUSD, as they do after the first sale.
  await f.market.connect(earlyBuyer).buy(1n, 50n, 1_000_000n);
  const buyGas = await gasOf(f.market.connect(f.buyer).buy(1n, 100n, 1_000_000n));
  const retireGas = await gasOf(f.certificates.connect(f.buyer).retire(tokenId, 40n, details(f.buyer.address)));
  const buyAndRetireGas = await gasOf(
    f.market.connect(buyer2).buyAndRetire(1n, 100n, 1_000_000n, details(buyer2.address)),
  );
  return { issueGas, firstIssueGas, listGas, buyGas, retireGas, buyAndRetireGas };
}

/** Prints the figures against their targets. */
export function printTable(gas: CreditsGas): void {
  const rows = Object.entries(gas).map(([op, used]) => {
    const target = (CREDITS_GAS_TARGETS as Record<string, number>)[op];
    return {
      operation: op.replace(/Gas$/, ""),
      gas: used,
      target: target ?? "",
      ok: target === undefined ? "" : used <= target ? "yes" : "NO",
    };
  });
  console.table(rows);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { ethers, networkHelpers } = await network.create();
  const gas = await measure({ ethers, networkHelpers });
  printTable(gas);
  console.log(JSON.stringify(gas));
}
