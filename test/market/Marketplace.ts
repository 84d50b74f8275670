import { expect } from "chai";
import { network } from "hardhat";
import { deployAll, header, details, CHALLENGE_WINDOW, DAY, FEE_BPS } from "../credits/fixture.ts";

const connection = await network.create();
const { networkHelpers } = connection;
const { time } = networkHelpers;

const PRICE = 10_000n; // tUSD base units per kg: 0.01 tUSD/kg = 10 tUSD/t

/** Proponent holds 800 kg, lists 500 kg at PRICE (min fill 10, 30 days); buyers hold and approved tUSD. */
async function listed() {
  const f = await deployAll(connection);
  const projectId = await f.registerProject();
  const hs = [header({ day: 0n }), header({ day: 1n })];
  for (const h of hs) await f.attest(h);
  await time.increase(CHALLENGE_WINDOW);
  for (const h of hs) await f.credits.connect(f.verifier).issue(projectId, h, 400n);
  const tokenId = await f.credits.tokenIdOf(projectId, 2025n);
  const marketAddress = await f.market.getAddress();
  await f.credits.connect(f.proponent).setApprovalForAll(marketAddress, true);
  const expiresAt = BigInt(await time.latest()) + 30n * DAY;
  await f.market.connect(f.proponent).list(tokenId, 500n, await f.usd.getAddress(), PRICE, 10n, expiresAt);
  for (const b of [f.buyer, f.buyer2]) {
    await f.usd.mint(b.address, 1_000_000_000n);
    await f.usd.connect(b).approve(marketAddress, 1_000_000_000n);
  }
  return { ...f, projectId, tokenId, marketAddress, expiresAt, listingId: 1n };
}

describe("Marketplace", function () {
  describe("list", function () {
    it("escrows the credits and records the listing", async function () {
      const f = await networkHelpers.loadFixture(listed);
      expect(await f.credits.balanceOf(f.marketAddress, f.tokenId)).to.equal(500n);
      expect(await f.credits.balanceOf(f.proponent.address, f.tokenId)).to.equal(300n);
      const l = await f.market.getListing(1n);
      expect([l.seller, l.remaining, l.paymentToken, l.expiresAt, l.tokenId, l.unitPrice, l.minFill]).to.deep.equal([
        f.proponent.address,
        500n,
        await f.usd.getAddress(),
        f.expiresAt,
        f.tokenId,
        PRICE,
        10n,
      ]);
      await expect(f.market.connect(f.proponent).list(f.tokenId, 100n, f.ethers.ZeroAddress, 5n, 1n, f.expiresAt))
        .to.emit(f.market, "Listed")
        .withArgs(2n, f.proponent.address, f.tokenId, 100n, f.ethers.ZeroAddress, 5n, 1n, f.expiresAt);
      expect(await f.market.listingCount()).to.equal(2n);
    });

    it("test_list_revertsWhen_zeroAmount / badMinFill / pastExpiry / tokenNotAllowed / hugeId / notApproved / paused", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const m = f.market.connect(f.proponent);
      const usd = await f.usd.getAddress();
      await expect(m.list(f.tokenId, 0n, usd, PRICE, 1n, f.expiresAt)).to.be.revertedWithCustomError(
        m,
        "MarketplaceZeroAmount",
      );
      await expect(m.list(f.tokenId, 10n, usd, PRICE, 0n, f.expiresAt))
        .to.be.revertedWithCustomError(m, "MarketplaceInvalidMinFill")
        .withArgs(0n, 10n);
      await expect(m.list(f.tokenId, 10n, usd, PRICE, 11n, f.expiresAt))
        .to.be.revertedWithCustomError(m, "MarketplaceInvalidMinFill")
        .withArgs(11n, 10n);
      const now = BigInt(await time.latest());
      await expect(m.list(f.tokenId, 10n, usd, PRICE, 1n, now))
        .to.be.revertedWithCustomError(m, "MarketplaceInvalidExpiry")
        .withArgs(now);
      await expect(m.list(f.tokenId, 10n, f.other.address, PRICE, 1n, f.expiresAt))
        .to.be.revertedWithCustomError(m, "MarketplacePaymentTokenNotAllowed")
        .withArgs(f.other.address);
      await expect(m.list(2n ** 56n, 10n, usd, PRICE, 1n, f.expiresAt))
        .to.be.revertedWithCustomError(m, "MarketplaceInvalidTokenId")
        .withArgs(2n ** 56n);
      await expect(f.market.connect(f.buyer).list(f.tokenId, 10n, usd, PRICE, 1n, f.expiresAt))
        .to.be.revertedWithCustomError(f.credits, "ERC1155MissingApprovalForAll")
        .withArgs(f.marketAddress, f.buyer.address);
      await f.market.pause();
      await expect(m.list(f.tokenId, 10n, usd, PRICE, 1n, f.expiresAt)).to.be.revertedWithCustomError(
        m,
        "EnforcedPause",
      );
    });

    it("refuses credits it did not move in itself (single and batch)", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(
        f.credits.connect(f.proponent).safeTransferFrom(f.proponent.address, f.marketAddress, f.tokenId, 1n, "0x"),
      )
        .to.be.revertedWithCustomError(f.market, "MarketplaceUnexpectedCredits")
        .withArgs(f.proponent.address);
      await expect(
        f.credits
          .connect(f.proponent)
          .safeBatchTransferFrom(f.proponent.address, f.marketAddress, [f.tokenId], [1n], "0x"),
      )
        .to.be.revertedWithCustomError(f.market, "MarketplaceUnexpectedCredits")
        .withArgs(f.proponent.address);
      await expect(f.market.onERC1155Received(f.marketAddress, f.proponent.address, f.tokenId, 1n, "0x"))
        .to.be.revertedWithCustomError(f.market, "MarketplaceUnexpectedCredits")
        .withArgs(f.marketAddress);
    });
  });

  describe("buy", function () {
    it("fills partially: buyer pays price × amount, seller gets it less the fee, treasury the fee", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const total = 100n * PRICE;
      const fee = (total * FEE_BPS) / 10_000n;
      expect(await f.market.quote(1n, 100n)).to.deep.equal([total, fee]);
      const tx = f.market.connect(f.buyer).buy(1n, 100n, total);
      await expect(tx)
        .to.emit(f.market, "Bought")
        .withArgs(1n, f.buyer.address, f.tokenId, 100n, total, fee, false, 0n);
      await expect(tx).to.changeTokenBalances(
        f.ethers,
        f.usd,
        [f.buyer, f.proponent, f.treasury, f.market],
        [-total, total - fee, fee, 0n],
      );
      expect(await f.credits.balanceOf(f.buyer.address, f.tokenId)).to.equal(100n);
      expect(await f.credits.balanceOf(f.marketAddress, f.tokenId)).to.equal(400n);
      expect((await f.market.getListing(1n)).remaining).to.equal(400n);
    });

    it("rounds the fee down: 7 kg at 3 units, 2.5 % → fee 0, seller 21", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await f.market.connect(f.proponent).list(f.tokenId, 7n, await f.usd.getAddress(), 3n, 1n, f.expiresAt);
      await expect(f.market.connect(f.buyer).buy(2n, 7n, 21n)).to.changeTokenBalances(
        f.ethers,
        f.usd,
        [f.buyer, f.proponent, f.treasury],
        [-21n, 21n, 0n],
      );
      await expect(f.market.connect(f.buyer).buy(2n, 1n, 3n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceListingClosed")
        .withArgs(2n);
    });

    it("allows a last fill below the minimum fill, and not otherwise", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(f.market.connect(f.buyer).buy(1n, 9n, 10n ** 18n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceBelowMinFill")
        .withArgs(9n, 10n);
      await f.market.connect(f.buyer).buy(1n, 495n, 10n ** 18n);
      await f.market.connect(f.buyer2).buy(1n, 5n, 10n ** 18n);
      expect((await f.market.getListing(1n)).remaining).to.equal(0n);
      expect(await f.credits.balanceOf(f.marketAddress, f.tokenId)).to.equal(0n);
    });

    it("test_buy_revertsWhen_closed / expired / zero / overRemaining / slippage / valueWithErc20 / paused", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const m = f.market.connect(f.buyer);
      await expect(m.buy(9n, 10n, 10n ** 18n))
        .to.be.revertedWithCustomError(m, "MarketplaceListingClosed")
        .withArgs(9n);
      await expect(m.buy(1n, 0n, 10n ** 18n)).to.be.revertedWithCustomError(m, "MarketplaceZeroAmount");
      await expect(m.buy(1n, 501n, 10n ** 18n))
        .to.be.revertedWithCustomError(m, "MarketplaceAmountExceedsRemaining")
        .withArgs(501n, 500n);
      await expect(m.buy(1n, 100n, 100n * PRICE - 1n))
        .to.be.revertedWithCustomError(m, "MarketplaceSlippage")
        .withArgs(100n * PRICE, 100n * PRICE - 1n);
      await expect(m.buy(1n, 100n, 100n * PRICE, { value: 1n }))
        .to.be.revertedWithCustomError(m, "MarketplaceWrongValue")
        .withArgs(0n, 1n);
      await f.market.pause();
      await expect(m.buy(1n, 100n, 100n * PRICE)).to.be.revertedWithCustomError(m, "EnforcedPause");
      await f.market.unpause();
      await time.increaseTo(f.expiresAt);
      await expect(m.buy(1n, 100n, 100n * PRICE))
        .to.be.revertedWithCustomError(m, "MarketplaceListingExpired")
        .withArgs(1n, f.expiresAt);
    });

    it("protects buyers against a price raised before their transaction", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(f.market.connect(f.proponent).updatePrice(1n, PRICE * 2n))
        .to.emit(f.market, "PriceUpdated")
        .withArgs(1n, PRICE, PRICE * 2n);
      await expect(f.market.connect(f.buyer).buy(1n, 100n, 100n * PRICE))
        .to.be.revertedWithCustomError(f.market, "MarketplaceSlippage")
        .withArgs(200n * PRICE, 100n * PRICE);
    });

    it("pays in native currency: exact value, straight to seller and treasury", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const price = 10n ** 12n;
      await f.market.connect(f.proponent).list(f.tokenId, 100n, f.ethers.ZeroAddress, price, 1n, f.expiresAt);
      const total = 40n * price;
      const fee = (total * FEE_BPS) / 10_000n;
      await expect(f.market.connect(f.buyer).buy(2n, 40n, total, { value: total - 1n }))
        .to.be.revertedWithCustomError(f.market, "MarketplaceWrongValue")
        .withArgs(total, total - 1n);
      await expect(f.market.connect(f.buyer).buy(2n, 40n, total, { value: total })).to.changeEtherBalances(
        f.ethers,
        [f.buyer, f.proponent, f.treasury, f.market],
        [-total, total - fee, fee, 0n],
      );
      // a treasury that refuses native currency makes native buys revert, not lose funds
      await f.market.setFee(FEE_BPS, await f.usd.getAddress());
      await expect(f.market.connect(f.buyer).buy(2n, 40n, total, { value: total }))
        .to.be.revertedWithCustomError(f.market, "MarketplaceNativeTransferFailed")
        .withArgs(await f.usd.getAddress(), fee);
      await f.market.setFee(0, await f.usd.getAddress());
      await expect(f.market.connect(f.buyer).buy(2n, 40n, total, { value: total })).to.changeEtherBalances(
        f.ethers,
        [f.buyer, f.proponent],
        [-total, total],
      );
    });

    it("works with an ERC-20 that returns no bool (SafeERC20)", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const nrt = await f.ethers.deployContract("NoReturnToken");
      await f.market.setPaymentToken(await nrt.getAddress(), true);
      await f.market.connect(f.proponent).list(f.tokenId, 100n, await nrt.getAddress(), PRICE, 1n, f.expiresAt);
      await nrt.mint(f.buyer.address, 10n ** 9n);
      await expect(f.market.connect(f.buyer).buy(2n, 10n, 10n ** 18n)).to.be.revertedWithCustomError(
        nrt,
        "NoReturnTokenInsufficientAllowance",
      );
      await nrt.connect(f.buyer).approve(f.marketAddress, 10n ** 9n);
      const total = 10n * PRICE;
      await expect(f.market.connect(f.buyer).buy(2n, 10n, total)).to.changeTokenBalances(
        f.ethers,
        nrt,
        [f.buyer, f.proponent, f.treasury],
        [-total, total - (total * FEE_BPS) / 10_000n, (total * FEE_BPS) / 10_000n],
      );
    });

    it("holds against reentrancy from a hostile payment token", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const re = await f.ethers.deployContract("ReentrantToken");
      await f.market.setPaymentToken(await re.getAddress(), true);
      await f.market.connect(f.proponent).list(f.tokenId, 100n, await re.getAddress(), 1n, 1n, f.expiresAt);
      await re.mint(f.buyer.address, 10n ** 9n);
      await re.connect(f.buyer).approve(f.marketAddress, 10n ** 9n);
      await re.arm(f.marketAddress, f.market.interface.encodeFunctionData("buy", [2n, 1n, 10n]));
      await expect(f.market.connect(f.buyer).buy(2n, 10n, 10n)).to.be.revertedWithCustomError(
        f.market,
        "ReentrancyGuardReentrantCall",
      );
    });
  });

  describe("buyAndRetire", function () {
    it("burns from escrow and certifies the buyer as retiree, for the named beneficiary", async function () {
      const f = await networkHelpers.loadFixture(listed);
      const certId = (f.tokenId << 64n) | 1n;
      const total = 120n * PRICE;
      const fee = (total * FEE_BPS) / 10_000n;
      const tx = f.market.connect(f.buyer).buyAndRetire(1n, 120n, total, details(f.buyer2.address));
      await expect(tx)
        .to.emit(f.market, "Bought")
        .withArgs(1n, f.buyer.address, f.tokenId, 120n, total, fee, true, certId);
      await expect(tx).to.emit(f.certificates, "Retired");
      await expect(tx).to.changeTokenBalances(
        f.ethers,
        f.usd,
        [f.buyer, f.proponent, f.treasury],
        [-total, total - fee, fee],
      );
      const c = await f.certificates.getCertificate(certId);
      expect([c.retiree, c.beneficiary, c.amount]).to.deep.equal([f.buyer.address, f.buyer2.address, 120n]);
      expect(await f.credits.balanceOf(f.marketAddress, f.tokenId)).to.equal(380n);
      expect(await f.credits.balanceOf(f.buyer.address, f.tokenId)).to.equal(0n);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(680n);
    });

    it("test_buyAndRetire_revertsWhen_slippage / paused", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(f.market.connect(f.buyer).buyAndRetire(1n, 10n, 1n, details(f.buyer.address)))
        .to.be.revertedWithCustomError(f.market, "MarketplaceSlippage")
        .withArgs(10n * PRICE, 1n);
      await f.market.pause();
      await expect(
        f.market.connect(f.buyer).buyAndRetire(1n, 10n, 10n ** 18n, details(f.buyer.address)),
      ).to.be.revertedWithCustomError(f.market, "EnforcedPause");
    });
  });

  describe("sellers: price updates and cancel", function () {
    it("test_updatePrice_revertsWhen_notSeller / closed / paused", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(f.market.connect(f.buyer).updatePrice(1n, 1n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceNotSeller")
        .withArgs(1n, f.buyer.address);
      await f.market.pause();
      await expect(f.market.connect(f.proponent).updatePrice(1n, 1n)).to.be.revertedWithCustomError(
        f.market,
        "EnforcedPause",
      );
      await f.market.unpause();
      await f.market.connect(f.proponent).cancel(1n);
      await expect(f.market.connect(f.proponent).updatePrice(1n, 1n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceListingClosed")
        .withArgs(1n);
    });

    it("cancel returns the unsold credits: seller any time (even paused), anyone after expiry", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await f.market.connect(f.buyer).buy(1n, 100n, 10n ** 18n);
      await expect(f.market.connect(f.buyer).cancel(1n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceListingNotExpired")
        .withArgs(1n, f.expiresAt);
      await f.market.pause();
      await expect(f.market.connect(f.proponent).cancel(1n))
        .to.emit(f.market, "Cancelled")
        .withArgs(1n, f.proponent.address, 400n);
      expect(await f.credits.balanceOf(f.proponent.address, f.tokenId)).to.equal(700n);
      await expect(f.market.connect(f.proponent).cancel(1n))
        .to.be.revertedWithCustomError(f.market, "MarketplaceListingClosed")
        .withArgs(1n);
      await f.market.unpause();
      await f.market.connect(f.proponent).list(f.tokenId, 50n, await f.usd.getAddress(), PRICE, 1n, f.expiresAt);
      await time.increaseTo(f.expiresAt);
      await expect(f.market.connect(f.other).cancel(2n))
        .to.emit(f.market, "Cancelled")
        .withArgs(2n, f.other.address, 50n);
      expect(await f.credits.balanceOf(f.proponent.address, f.tokenId)).to.equal(700n);
      expect(await f.credits.balanceOf(f.marketAddress, f.tokenId)).to.equal(0n);
    });
  });

  describe("administration", function () {
    it("caps the fee, requires a treasury, announces changes", async function () {
      const f = await networkHelpers.loadFixture(listed);
      await expect(f.market.setFee(1001, f.treasury.address))
        .to.be.revertedWithCustomError(f.market, "MarketplaceFeeTooHigh")
        .withArgs(1001n, 1000n);
      await expect(f.market.setFee(100, f.ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.market,
        "MarketplaceInvalidTreasury",
      );
      await expect(f.market.setFee(1000, f.other.address))
        .to.emit(f.market, "FeeUpdated")
        .withArgs(FEE_BPS, 1000n, f.treasury.address, f.other.address);
      await expect(f.market.connect(f.other).setFee(1, f.other.address)).to.be.revertedWithCustomError(
        f.market,
        "AccessControlUnauthorizedAccount",
      );
      await expect(f.market.setPaymentToken(f.other.address, true))
        .to.emit(f.market, "PaymentTokenSet")
        .withArgs(f.other.address, true);
      await expect(
        f.ethers.deployContract("Marketplace", [
          await f.credits.getAddress(),
          await f.certificates.getAddress(),
          f.admin.address,
          f.treasury.address,
          1001n,
        ]),
      ).to.be.revertedWithCustomError(f.market, "MarketplaceFeeTooHigh");
      await expect(f.market.connect(f.other).pause()).to.be.revertedWithCustomError(
        f.market,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("supports ERC-1155 receiver, AccessControl and ERC-165", async function () {
      const f = await networkHelpers.loadFixture(listed);
      for (const id of ["0x4e2312e0", "0x7965db0b", "0x01ffc9a7"])
        expect(await f.market.supportsInterface(id)).to.equal(true);
      expect(await f.market.supportsInterface("0xffffffff")).to.equal(false);
    });
  });
});
