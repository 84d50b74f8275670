import { expect } from "chai";
import { network } from "hardhat";
import { encodeBytes32String } from "ethers";
import { deployAll, header, details, CHALLENGE_WINDOW, DAY, Y2026, METHODOLOGY } from "../credits/fixture.ts";

const connection = await network.create();
const { networkHelpers } = connection;
const { time } = networkHelpers;

/** The proponent holds 800 kg of vintage 2025 and 400 kg of vintage 2026 of project 1. */
async function issued() {
  const f = await deployAll(connection);
  const projectId = await f.registerProject();
  const hs = [header({ day: 0n }), header({ day: 1n }), header({ periodStart: Y2026, periodEnd: Y2026 + DAY })];
  for (const h of hs) await f.attest(h);
  await time.increase(CHALLENGE_WINDOW);
  for (const h of hs) await f.credits.connect(f.verifier).issue(projectId, h, 400n);
  const tokenId = await f.credits.tokenIdOf(projectId, 2025n);
  const tokenId2026 = await f.credits.tokenIdOf(projectId, 2026n);
  return { ...f, projectId, tokenId, tokenId2026 };
}

function decodeDataUri(uri: string, mime: string): string {
  const prefix = `data:${mime};base64,`;
  expect(uri.startsWith(prefix)).to.equal(true);
  return Buffer.from(uri.slice(prefix.length), "base64").toString("utf8");
}

describe("RetirementCertificates", function () {
  describe("retire", function () {
    it("burns the credits and mints a soulbound certificate to the beneficiary", async function () {
      const f = await networkHelpers.loadFixture(issued);
      const certId = (f.tokenId << 64n) | 1n;
      const d = details(f.buyer.address);
      const tx = f.certificates.connect(f.proponent).retire(f.tokenId, 40n, d);
      await expect(tx)
        .to.emit(f.certificates, "Retired")
        .withArgs(
          certId,
          f.tokenId,
          f.buyer.address,
          f.proponent.address,
          f.proponent.address,
          40n,
          d.beneficiaryName,
          d.reason,
          "0x000000",
          0n,
          0n,
        );
      await expect(tx).to.emit(f.certificates, "Transfer").withArgs(f.ethers.ZeroAddress, f.buyer.address, certId);
      await expect(tx).to.emit(f.certificates, "Locked").withArgs(certId);
      await expect(tx)
        .to.emit(f.credits, "TransferSingle")
        .withArgs(await f.certificates.getAddress(), f.proponent.address, f.ethers.ZeroAddress, f.tokenId, 40n);
      expect(await f.credits.balanceOf(f.proponent.address, f.tokenId)).to.equal(760n);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(760n);
      const s = await f.credits.supplyOf(f.tokenId);
      expect([s.issued, s.retired, s.retirements]).to.deep.equal([800n, 40n, 1n]);
      expect(await f.certificates.ownerOf(certId)).to.equal(f.buyer.address);
      expect(await f.certificates.balanceOf(f.buyer.address)).to.equal(1n);
      expect(await f.certificates.balanceOf(f.proponent.address)).to.equal(0n);
      const c = await f.certificates.getCertificate(certId);
      expect(c.creditId).to.equal(f.tokenId);
      expect(c.beneficiary).to.equal(f.buyer.address);
      expect(c.retiree).to.equal(f.proponent.address);
      expect(c.amount).to.equal(40n);
      expect(c.beneficiaryName).to.equal("Acme Tea Ltd");
      expect(c.reason).to.equal("FY2026 scope 1 offset");
      expect(c.retiredAt).to.equal(BigInt(await time.latest()));
      // the second retirement of the same credit id gets n = 2
      await f.certificates.connect(f.proponent).retire(f.tokenId, 1n, details(f.proponent.address));
      expect(await f.certificates.ownerOf((f.tokenId << 64n) | 2n)).to.equal(f.proponent.address);
      expect((await f.certificates.getCertificate((f.tokenId << 64n) | 2n)).retiree).to.equal(f.proponent.address);
    });

    it("retires for a holder through an ERC-1155 operator approval only", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await expect(
        f.certificates.connect(f.other).retireFrom(f.proponent.address, f.tokenId, 5n, details(f.other.address)),
      )
        .to.be.revertedWithCustomError(f.certificates, "ERC1155MissingApprovalForAll")
        .withArgs(f.other.address, f.proponent.address);
      await f.credits.connect(f.proponent).setApprovalForAll(f.other.address, true);
      await f.certificates.connect(f.other).retireFrom(f.proponent.address, f.tokenId, 5n, details(f.other.address));
      const c = await f.certificates.getCertificate((f.tokenId << 64n) | 1n);
      expect([c.retiree, c.beneficiary, c.amount]).to.deep.equal([f.proponent.address, f.other.address, 5n]);
      // the holder itself needs no approval
      await f.certificates
        .connect(f.proponent)
        .retireFrom(f.proponent.address, f.tokenId, 1n, details(f.proponent.address));
    });

    it("retires several ids in one call, one certificate each", async function () {
      const f = await networkHelpers.loadFixture(issued);
      const ids = await f.certificates
        .connect(f.proponent)
        .retireBatch.staticCall([f.tokenId, f.tokenId2026], [10n, 20n], details(f.buyer.address));
      expect(ids).to.deep.equal([(f.tokenId << 64n) | 1n, (f.tokenId2026 << 64n) | 1n]);
      await f.certificates
        .connect(f.proponent)
        .retireBatch([f.tokenId, f.tokenId2026], [10n, 20n], details(f.buyer.address));
      expect(await f.certificates.balanceOf(f.buyer.address)).to.equal(2n);
      expect(await f.credits.totalSupply(f.tokenId2026)).to.equal(380n);
      await expect(f.certificates.connect(f.proponent).retireBatch([f.tokenId], [1n, 2n], details(f.buyer.address)))
        .to.be.revertedWithCustomError(f.certificates, "RetirementCertificatesLengthMismatch")
        .withArgs(1n, 2n);
    });

    it("test_retire_revertsWhen_zeroAmount / zeroBeneficiary / textTooLong / badPeriod / overBalance", async function () {
      const f = await networkHelpers.loadFixture(issued);
      const c = f.certificates.connect(f.proponent);
      await expect(c.retire(f.tokenId, 0n, details(f.buyer.address))).to.be.revertedWithCustomError(
        f.certificates,
        "RetirementCertificatesZeroAmount",
      );
      await expect(c.retire(f.tokenId, 1n, details(f.ethers.ZeroAddress)))
        .to.be.revertedWithCustomError(f.certificates, "ERC721InvalidReceiver")
        .withArgs(f.ethers.ZeroAddress);
      await expect(c.retire(f.tokenId, 1n, details(f.buyer.address, { beneficiaryName: "n".repeat(65) })))
        .to.be.revertedWithCustomError(f.certificates, "RetirementCertificatesTextTooLong")
        .withArgs(65n, 64n);
      await expect(c.retire(f.tokenId, 1n, details(f.buyer.address, { reason: "r".repeat(161) })))
        .to.be.revertedWithCustomError(f.certificates, "RetirementCertificatesTextTooLong")
        .withArgs(161n, 160n);
      await expect(c.retire(f.tokenId, 1n, details(f.buyer.address, { consumptionStart: 10n, consumptionEnd: 9n })))
        .to.be.revertedWithCustomError(f.certificates, "RetirementCertificatesInvalidPeriod")
        .withArgs(10n, 9n);
      await expect(c.retire(f.tokenId, 801n, details(f.buyer.address)))
        .to.be.revertedWithCustomError(f.credits, "ERC1155InsufficientBalance")
        .withArgs(f.proponent.address, 800n, 801n, f.tokenId);
      await expect(
        f.certificates.connect(f.proponent).retireFromEscrow(f.buyer.address, f.tokenId, 1n, details(f.buyer.address)),
      )
        .to.be.revertedWithCustomError(f.certificates, "AccessControlUnauthorizedAccount")
        .withArgs(f.proponent.address, await f.certificates.ESCROW_ROLE());
    });

    it("retired credits are gone: they cannot be transferred or retired again", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.certificates.connect(f.proponent).retire(f.tokenId, 800n, details(f.proponent.address));
      await expect(
        f.credits.connect(f.proponent).safeTransferFrom(f.proponent.address, f.buyer.address, f.tokenId, 1n, "0x"),
      ).to.be.revertedWithCustomError(f.credits, "ERC1155InsufficientBalance");
      await expect(
        f.certificates.connect(f.proponent).retire(f.tokenId, 1n, details(f.proponent.address)),
      ).to.be.revertedWithCustomError(f.credits, "ERC1155InsufficientBalance");
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(0n);
    });

    it("caps one certificate at 2^56 − 1 kg", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.credits.connect(f.verifier).registerProject({
        proponent: f.proponent.address,
        facilityId: encodeBytes32String("big-plant"),
        methodologyId: METHODOLOGY,
        name: "Big",
        standard: "S",
        baselineEffectiveFrom: Y2026,
        baselineGramsPerDay: 2n ** 100n,
        baselineCid: "c",
      });
      const h = header({ facilityId: encodeBytes32String("big-plant"), periodStart: Y2026, periodEnd: Y2026 + DAY });
      await f.attest(h);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.connect(f.verifier).issue(2n, h, 2n ** 57n);
      const big = await f.credits.tokenIdOf(2n, 2026n);
      await expect(f.certificates.connect(f.proponent).retire(big, 2n ** 56n, details(f.proponent.address)))
        .to.be.revertedWithCustomError(f.certificates, "SafeCastOverflowedUintDowncast")
        .withArgs(56n, 2n ** 56n);
      await f.certificates.connect(f.proponent).retire(big, 2n ** 56n - 1n, details(f.proponent.address));
    });
  });

  describe("soulbound ERC-721", function () {
    it("cannot be transferred or approved (ERC-5192 locked)", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.certificates.connect(f.proponent).retire(f.tokenId, 1n, details(f.buyer.address));
      const id = (f.tokenId << 64n) | 1n;
      const c = f.certificates.connect(f.buyer);
      await expect(c.transferFrom(f.buyer.address, f.other.address, id)).to.be.revertedWithCustomError(
        c,
        "RetirementCertificatesSoulbound",
      );
      await expect(
        c["safeTransferFrom(address,address,uint256)"](f.buyer.address, f.other.address, id),
      ).to.be.revertedWithCustomError(c, "RetirementCertificatesSoulbound");
      await expect(
        c["safeTransferFrom(address,address,uint256,bytes)"](f.buyer.address, f.other.address, id, "0x"),
      ).to.be.revertedWithCustomError(c, "RetirementCertificatesSoulbound");
      await expect(c.approve(f.other.address, id)).to.be.revertedWithCustomError(c, "RetirementCertificatesSoulbound");
      await expect(c.setApprovalForAll(f.other.address, true)).to.be.revertedWithCustomError(
        c,
        "RetirementCertificatesSoulbound",
      );
      expect(await c.locked(id)).to.equal(true);
      expect(await c.getApproved(id)).to.equal(f.ethers.ZeroAddress);
      expect(await c.isApprovedForAll(f.buyer.address, f.other.address)).to.equal(false);
      await expect(c.locked(id + 1n))
        .to.be.revertedWithCustomError(c, "ERC721NonexistentToken")
        .withArgs(id + 1n);
      await expect(c.getApproved(id + 1n)).to.be.revertedWithCustomError(c, "ERC721NonexistentToken");
      await expect(c.tokenURI(id + 1n)).to.be.revertedWithCustomError(c, "ERC721NonexistentToken");
      await expect(c.balanceOf(f.ethers.ZeroAddress))
        .to.be.revertedWithCustomError(c, "ERC721InvalidOwner")
        .withArgs(f.ethers.ZeroAddress);
      expect(await c.name()).to.equal("CarbonProof Retirement Certificate");
      expect(await c.symbol()).to.equal("CPRC");
      for (const iface of ["0x80ac58cd", "0x5b5e139f", "0xb45a3c0e", "0x01ffc9a7", "0x7965db0b"]) {
        expect(await c.supportsInterface(iface)).to.equal(true);
      }
      expect(await c.supportsInterface("0x12345678")).to.equal(false);
    });
  });

  describe("tokenURI", function () {
    it("renders the certificate on-chain as JSON with an SVG image", async function () {
      const f = await networkHelpers.loadFixture(issued);
      const start = 1_735_689_600n; // 2025-01-01
      await f.certificates.connect(f.proponent).retire(
        f.tokenId,
        234n,
        details(f.buyer.address, {
          beneficiaryName: 'Acme "Tea" <Ltd> & Sons',
          reason: "Scope 2\nelectricity",
          consumptionCountry: "0x4b454e", // KEN
          consumptionStart: start,
          consumptionEnd: start + 365n * DAY,
        }),
      );
      const id = (f.tokenId << 64n) | 1n;
      const meta = JSON.parse(decodeDataUri(await f.certificates.tokenURI(id), "application/json"));
      expect(meta.name).to.equal(`CarbonProof Retirement Certificate #${id}`);
      expect(meta.description).to.contain('0.234 t CO2e retired for Acme "Tea" <Ltd> & Sons');
      expect(meta.attributes).to.deep.equal([
        { trait_type: "Amount (kg CO2e)", display_type: "number", value: 234 },
        { trait_type: "Vintage", value: "2025" },
        { trait_type: "Project", value: "Kangaita biomass boiler" },
      ]);
      const retiredAt = await time.latest();
      expect(meta.certificate).to.deep.equal({
        id: id.toString(),
        creditId: f.tokenId.toString(),
        projectId: 1,
        vintage: 2025,
        facilityId: "ktda-kangaita",
        methodologyId: METHODOLOGY,
        amountKg: 234,
        beneficiary: f.buyer.address,
        beneficiaryName: 'Acme "Tea" <Ltd> & Sons',
        retiree: f.proponent.address,
        reason: "Scope 2\nelectricity",
        retiredAt,
        retiredOn: new Date(retiredAt * 1000).toISOString().slice(0, 10),
        consumptionCountry: "KEN",
        consumptionStart: Number(start),
        consumptionEnd: Number(start + 365n * DAY),
        attestations: `https://explorer.carbonproof.local/credits/${f.tokenId}`,
      });
      const svg = decodeDataUri(meta.image, "image/svg+xml");
      expect(svg.startsWith("<svg")).to.equal(true);
      expect(svg).to.contain("0.234 t CO2e");
      expect(svg).to.contain("For: Acme &quot;Tea&quot; &lt;Ltd&gt; &amp; Sons");
      expect(svg).to.contain("Consumption: KEN 2025-01-01 to 2026-01-01");
      expect(svg).not.to.contain("<Ltd>");
    });

    it("keeps apostrophes and control characters from breaking the SVG", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.certificates
        .connect(f.proponent)
        .retire(
          f.tokenId,
          5n,
          details(f.buyer.address, { beneficiaryName: "O'Brien\u0001 & Co", reason: "tab\there" }),
        );
      const meta = JSON.parse(
        decodeDataUri(await f.certificates.tokenURI((f.tokenId << 64n) | 1n), "application/json"),
      );
      expect(meta.certificate.beneficiaryName).to.equal("O'Brien\u0001 & Co");
      const svg = decodeDataUri(meta.image, "image/svg+xml");
      expect(svg).to.contain("For: O&#39;Brien? &amp; Co");
      expect(svg).to.contain("Reason: tab\there");
    });

    it("renders a minimal certificate (no name, reason, country or period)", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.certificates
        .connect(f.proponent)
        .retire(f.tokenId, 5n, details(f.proponent.address, { beneficiaryName: "", reason: "" }));
      const meta = JSON.parse(
        decodeDataUri(await f.certificates.tokenURI((f.tokenId << 64n) | 1n), "application/json"),
      );
      expect(meta.certificate.beneficiaryName).to.equal("");
      expect(meta.certificate.retiree).to.equal(f.proponent.address);
      expect(meta.certificate.consumptionCountry).to.equal(null);
      expect(meta.certificate.consumptionStart).to.equal(null);
      expect(meta.description).to.contain(`0.005 t CO2e retired for ${f.proponent.address}`);
      const svg = decodeDataUri(meta.image, "image/svg+xml");
      expect(svg).not.to.contain("Consumption:");
    });

    it("renders a country without a period and a period without a country", async function () {
      const f = await networkHelpers.loadFixture(issued);
      await f.certificates
        .connect(f.proponent)
        .retire(f.tokenId, 50n, details(f.buyer.address, { consumptionCountry: "0x4b454e" }));
      await f.certificates
        .connect(f.proponent)
        .retire(f.tokenId, 60n, details(f.buyer.address, { consumptionStart: 0n, consumptionEnd: 86_400n }));
      const a = JSON.parse(decodeDataUri(await f.certificates.tokenURI((f.tokenId << 64n) | 1n), "application/json"));
      const b = JSON.parse(decodeDataUri(await f.certificates.tokenURI((f.tokenId << 64n) | 2n), "application/json"));
      expect(decodeDataUri(a.image, "image/svg+xml")).to.contain("Consumption: KEN</text>");
      expect(a.certificate.consumptionEnd).to.equal(null);
      expect(decodeDataUri(b.image, "image/svg+xml")).to.contain("Consumption: 1970-01-01 to 1970-01-02");
      expect(b.certificate.consumptionCountry).to.equal(null);
    });
  });
});
