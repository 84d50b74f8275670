/**
 * The whole credits half of the chain of custody in one story, on the real AttestationRegistry:
 * register a project → oracle quorum attests a day of readings (EIP-712, ethers wallets) → the
 * challenge window passes → the verifier issues the bound → the proponent lists → a buyer fills part
 * → another buys and retires → the certificate renders on-chain and names the beneficiary.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { deployAll, header, details, CHALLENGE_WINDOW, DAY, FEE_BPS, Y2025 } from "./fixture.ts";

const connection = await network.create();
const { networkHelpers } = connection;
const { time } = networkHelpers;

describe("credits flow", function () {
  it("register → attest → challenge window → issue → list → partial buy → buy-and-retire → certificate", async function () {
    const f = await deployAll(connection);

    // 1. the verifier registers the project: baseline 2.5 t/day (firewood boiler before the retrofit)
    const projectId = await f.registerProject(2_500_000n, Y2025);

    // 2. two oracle nodes co-sign the 2025-03-01 batch: 1.2345 t fossil CO2e
    const h = header({ periodStart: Y2025 + 59n * DAY, periodEnd: Y2025 + 60n * DAY, fossilCo2eGrams: 1_234_500n });
    const attestationId = await f.attest(h, [2, 0]);
    expect(await f.registry.exists(attestationId)).to.equal(true);
    expect(await f.registry.wasSignedBy(attestationId, f.nodes[0].address)).to.equal(true);
    expect(await f.registry.wasSignedBy(attestationId, f.nodes[1].address)).to.equal(false);

    // 3. nothing can be issued during the challenge window
    await expect(f.credits.connect(f.verifier).issue(projectId, h, 1n)).to.be.revertedWithCustomError(
      f.credits,
      "CarbonCreditsChallengeWindowOpen",
    );
    await time.increase(CHALLENGE_WINDOW);

    // 4. the bound: floor((2,500,000 − 1,234,500) / 1000) = 1265 kg
    expect(await f.credits.issuanceBound(projectId, h)).to.equal(1_265n);
    await f.credits.connect(f.verifier).issue(projectId, h, 1_265n);
    const tokenId = await f.credits.tokenIdOf(projectId, 2025n);
    expect(await f.credits.balanceOf(f.proponent.address, tokenId)).to.equal(1_265n);

    // 5. list 1,200 kg at 12 tUSD per tonne (12,000 base units per kg → 0.012 tUSD/kg), min fill 100 kg
    const market = await f.market.getAddress();
    await f.credits.connect(f.proponent).setApprovalForAll(market, true);
    const expiresAt = BigInt(await time.latest()) + 14n * DAY;
    await f.market.connect(f.proponent).list(tokenId, 1_200n, await f.usd.getAddress(), 12_000n, 100n, expiresAt);

    // 6. a buyer takes 300 kg
    await f.usd.mint(f.buyer.address, 100_000_000n);
    await f.usd.connect(f.buyer).approve(market, 100_000_000n);
    const total = 300n * 12_000n;
    const fee = (total * FEE_BPS) / 10_000n;
    await expect(f.market.connect(f.buyer).buy(1n, 300n, total)).to.changeTokenBalances(
      f.ethers,
      f.usd,
      [f.buyer, f.proponent, f.treasury],
      [-total, total - fee, fee],
    );
    expect(await f.credits.balanceOf(f.buyer.address, tokenId)).to.equal(300n);

    // 7. a second company buys 1,050 kg... more than remains: 900 kg remain, so it buys 900 and retires them
    await f.usd.mint(f.buyer2.address, 100_000_000n);
    await f.usd.connect(f.buyer2).approve(market, 100_000_000n);
    await expect(f.market.connect(f.buyer2).buyAndRetire(1n, 1_050n, 10n ** 18n, details(f.buyer2.address)))
      .to.be.revertedWithCustomError(f.market, "MarketplaceAmountExceedsRemaining")
      .withArgs(1_050n, 900n);
    const d = details(f.buyer2.address, {
      beneficiaryName: "Kericho Packaging Co.",
      reason: "2025 scope 3: tea packaging",
      consumptionCountry: "0x4b454e",
      consumptionStart: Y2025,
      consumptionEnd: Y2025 + 365n * DAY,
    });
    await f.market.connect(f.buyer2).buyAndRetire(1n, 900n, 900n * 12_000n, d);
    const certId = (tokenId << 64n) | 1n;

    // 8. the certificate: soulbound, owned by the beneficiary, readable from the chain alone
    expect(await f.certificates.ownerOf(certId)).to.equal(f.buyer2.address);
    const uri: string = await f.certificates.tokenURI(certId);
    const meta = JSON.parse(Buffer.from(uri.split(",")[1], "base64").toString("utf8"));
    expect(meta.certificate).to.include({
      creditId: tokenId.toString(),
      projectId: Number(projectId),
      vintage: 2025,
      facilityId: "ktda-kangaita",
      amountKg: 900,
      beneficiary: f.buyer2.address,
      beneficiaryName: "Kericho Packaging Co.",
      retiree: f.buyer2.address,
      reason: "2025 scope 3: tea packaging",
      consumptionCountry: "KEN",
      consumptionStart: Number(Y2025),
      consumptionEnd: Number(Y2025 + 365n * DAY),
    });
    expect(meta.description).to.contain("0.900 t CO2e retired for Kericho Packaging Co.");
    const svg = Buffer.from(meta.image.split(",")[1], "base64").toString("utf8");
    expect(svg).to.contain("0.900 t CO2e");
    expect(svg).to.contain("Consumption: KEN 2025-01-01 to 2026-01-01");

    // 9. the books balance: supply = issued − retired; the market holds nothing; the trail is in events
    const s = await f.credits.supplyOf(tokenId);
    expect([s.issued, s.retired]).to.deep.equal([1_265n, 900n]);
    expect(await f.credits.totalSupply(tokenId)).to.equal(365n);
    expect(await f.credits.balanceOf(market, tokenId)).to.equal(0n);
    expect(await f.usd.balanceOf(market)).to.equal(0n);
    const issued = await f.credits.queryFilter(f.credits.filters.CreditsIssued(tokenId));
    expect(issued.map((e) => e.args.attestationId)).to.deep.equal([attestationId]);

    // 10. the buyer retires its 300 kg itself, in the name of its client
    await f.certificates
      .connect(f.buyer)
      .retire(tokenId, 300n, details(f.other.address, { beneficiaryName: "Client Ltd" }));
    expect(await f.certificates.ownerOf((tokenId << 64n) | 2n)).to.equal(f.other.address);
    expect((await f.certificates.getCertificate((tokenId << 64n) | 2n)).retiree).to.equal(f.buyer.address);
    expect(await f.credits.totalSupply(tokenId)).to.equal(65n);
  });
});
