import { expect } from "chai";
import { network } from "hardhat";
import { concatHex, keccak256, sliceHex, stringToHex, toHex, type Hex } from "viem";
import { deployCarbonProof, FACILITY, BUNDLE_CID } from "../carbonProofFixture.ts";
import { idToBytes32 } from "../../sdk/src/ids.ts";
import { ZERO_BYTES32, type BatchHeader } from "../../sdk/src/eip712/batchHeader.ts";
import { buildMerkleTree, getProof, leafHash } from "../../sdk/src/merkle/index.ts";
import { sha256Bytes } from "../../sdk/src/reading/digest.ts";

const connection = await network.create();
const { networkHelpers } = connection;

async function fixture() {
  return deployCarbonProof(connection);
}

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/** Replaces signature `i` (65 bytes) of a packed blob. */
function replaceSignature(packed: Hex, i: number, sig: Hex): Hex {
  const body = packed.slice(2);
  return `0x${body.slice(0, 130 * i)}${sig.slice(2)}${body.slice(130 * (i + 1))}`;
}

describe("AttestationRegistry", function () {
  describe("EIP-712 header and id", function () {
    it("computes the same attestation id as the sdk's EIP-712 hash", async function () {
      const { registry, makeHeader, idOf } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      expect(await registry.attestationIdOf(header)).to.equal(idOf(header));
      const other = await makeHeader({
        bundleCid: "",
        correctionOf: keccak256(stringToHex("x")),
        fossilCo2eGrams: 2n ** 128n - 1n,
      });
      expect(await registry.attestationIdOf(other)).to.equal(idOf(other));
    });

    it("exposes the EIP-712 domain and type hash of docs/protocol.md", async function () {
      const { registry, chainId } = await networkHelpers.loadFixture(fixture);
      const domain = await registry.eip712Domain();
      expect(domain.name).to.equal("CarbonProof AttestationRegistry");
      expect(domain.version).to.equal("1");
      expect(domain.chainId).to.equal(chainId);
      expect(domain.verifyingContract).to.equal(await registry.getAddress());
      expect(await registry.BATCH_HEADER_TYPEHASH()).to.equal(
        keccak256(
          stringToHex(
            "BatchHeader(bytes32 facilityId,uint64 periodStart,uint64 periodEnd,bytes32 merkleRoot,uint32 readingCount,uint128 fossilCo2eGrams,uint128 biogenicCo2Grams,bytes32 methodologyId,bytes32 factorSetId,string bundleCid,bytes32 correctionOf)",
          ),
        ),
      );
      expect(await registry.domainSeparator()).to.match(/^0x[0-9a-f]{64}$/);
    });

    it("rejects a header with dirty high bits in a uint128 field", async function () {
      const { registry, makeHeader, oracles, ethers, idOf } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const data = registry.interface.encodeFunctionData("attestationIdOf", [header]);
      // word 6 of the tuple (fossilCo2eGrams): selector (4) + offset word (32) + 5 words
      const at = 2 + 2 * (4 + 32 + 5 * 32);
      const dirty = `${data.slice(0, at)}01${data.slice(at + 2)}`;
      const to = await registry.getAddress();
      const from = oracles[0]!.wallet.address;
      expect(await ethers.provider.call({ to, data, from })).to.equal(idOf(header));
      const outcome = await ethers.provider.call({ to, data: dirty, from }).then(
        () => "returned",
        (error: unknown) => (error instanceof Error ? "reverted" : "threw a non-error"),
      );
      expect(outcome).to.equal("reverted");
    });
  });

  describe("submit", function () {
    it("stores the record, emits the full header and names the signers", async function () {
      const { registry, oracleSet, makeHeader, submit, idOf, oracles, now } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const id = idOf(header);
      const tx = await submit(header, [0, 2, 4]);
      await expect(tx)
        .to.emit(registry, "AttestationSubmitted")
        .withArgs(id, header.facilityId, 0b10101n, (h: BatchHeader & unknown[]) => {
          expect(h.facilityId).to.equal(header.facilityId);
          expect(h.periodStart).to.equal(header.periodStart);
          expect(h.periodEnd).to.equal(header.periodEnd);
          expect(h.merkleRoot).to.equal(header.merkleRoot);
          expect(h.readingCount).to.equal(BigInt(header.readingCount));
          expect(h.fossilCo2eGrams).to.equal(header.fossilCo2eGrams);
          expect(h.biogenicCo2Grams).to.equal(header.biogenicCo2Grams);
          expect(h.methodologyId).to.equal(header.methodologyId);
          expect(h.factorSetId).to.equal(header.factorSetId);
          expect(h.bundleCid).to.equal(BUNDLE_CID);
          expect(h.correctionOf).to.equal(ZERO_BYTES32);
          return true;
        });
      expect(await registry.exists(id)).to.equal(true);
      expect(await registry.isRevoked(id)).to.equal(false);
      const record = await registry.getAttestation(id);
      expect(record.merkleRoot).to.equal(header.merkleRoot);
      expect(record.submittedAt).to.equal(await now());
      expect(record.revokedAt).to.equal(0n);
      expect(record.signerBitmap).to.equal(0b10101n);
      expect(await registry.attestedUntil(header.facilityId)).to.equal(header.periodEnd);
      for (const [i, signed] of [
        [0, true],
        [1, false],
        [2, true],
        [3, false],
        [4, true],
      ] as const) {
        expect(await registry.wasSignedBy(id, oracles[i]!.wallet.address)).to.equal(signed);
      }
      expect(await oracleSet.signersOf(record.signerBitmap)).to.deep.equal(
        [0, 2, 4].map((i) => oracles[i]!.wallet.address),
      );
    });

    it("returns the attestation id", async function () {
      const { registry, makeHeader, sign, idOf, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const asNode = registry.connect(oracles[0]!.wallet) as typeof registry;
      expect(await asNode.submit.staticCall(header, await sign(header))).to.equal(idOf(header));
    });

    it("says false for an unknown attestation or an address never in the set", async function () {
      const { registry, makeHeader, submit, idOf, outsider } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header);
      expect(await registry.wasSignedBy(idOf(header), outsider.address)).to.equal(false);
      expect(await registry.exists(ZERO_BYTES32)).to.equal(false);
      expect(await registry.isRevoked(ZERO_BYTES32)).to.equal(false);
    });

    it("accepts contiguous periods and gaps, per facility independently", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      const first = await makeHeader();
      await submit(first);
      const contiguous = await makeHeader({ periodStart: first.periodEnd, periodEnd: first.periodEnd + 60n });
      await expect(submit(contiguous)).to.emit(registry, "AttestationSubmitted");
      const gap = await makeHeader({
        periodStart: contiguous.periodEnd + 600n,
        periodEnd: contiguous.periodEnd + 900n,
      });
      await expect(submit(gap)).to.emit(registry, "AttestationSubmitted");
      const otherFacility = await makeHeader({ facilityId: idToBytes32("ktda-other") });
      await expect(submit(otherFacility)).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with AttestationRegistryPeriodOverlap when a regular batch starts before the last period's end", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      const first = await makeHeader();
      await submit(first);
      const overlapping = await makeHeader({
        periodStart: first.periodEnd - 1n,
        periodEnd: first.periodEnd + 60n,
        merkleRoot: keccak256("0x01"),
      });
      await expect(submit(overlapping))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryPeriodOverlap")
        .withArgs(first.facilityId, overlapping.periodStart, first.periodEnd);
      // the very same header again is an overlap too (and would have the same id)
      await expect(submit(first)).to.be.revertedWithCustomError(registry, "AttestationRegistryPeriodOverlap");
      // an earlier period, after a later one was attested
      const earlier = await makeHeader({ periodStart: first.periodStart - 600n, periodEnd: first.periodStart - 300n });
      await expect(submit(earlier)).to.be.revertedWithCustomError(registry, "AttestationRegistryPeriodOverlap");
    });

    it("reverts with AttestationRegistryZeroRoot for a zero Merkle root", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      await expect(submit(await makeHeader({ merkleRoot: ZERO_BYTES32 }))).to.be.revertedWithCustomError(
        registry,
        "AttestationRegistryZeroRoot",
      );
    });

    it("reverts with AttestationRegistryZeroReadingCount for zero readings", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      await expect(submit(await makeHeader({ readingCount: 0 }))).to.be.revertedWithCustomError(
        registry,
        "AttestationRegistryZeroReadingCount",
      );
    });

    it("reverts with AttestationRegistryInvalidPeriod for an empty or reversed period", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      const h = await makeHeader();
      await expect(submit({ ...h, periodEnd: h.periodStart }))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryInvalidPeriod")
        .withArgs(h.periodStart, h.periodStart);
      await expect(submit({ ...h, periodStart: h.periodEnd, periodEnd: h.periodStart }))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryInvalidPeriod")
        .withArgs(h.periodEnd, h.periodStart);
    });

    it("reverts with AttestationRegistryPeriodInFuture when the period ends after the block time", async function () {
      const { registry, makeHeader, submit, now } = await networkHelpers.loadFixture(fixture);
      const t = await now();
      const header = await makeHeader({ periodStart: t - 10n, periodEnd: t + 3600n });
      await expect(submit(header)).to.be.revertedWithCustomError(registry, "AttestationRegistryPeriodInFuture");
      // a period ending exactly at the block time is in the past (the end is exclusive)
      await networkHelpers.time.setNextBlockTimestamp(t + 3600n);
      await expect(submit(header)).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with AttestationRegistryCorrectionNeedsOriginal for a correction sent to submit", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      const correctionOf = keccak256(stringToHex("some attestation"));
      await expect(submit(await makeHeader({ correctionOf })))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryCorrectionNeedsOriginal")
        .withArgs(correctionOf);
    });

    it("reverts with EnforcedPause while paused, and works again after unpause", async function () {
      const { registry, makeHeader, submit, pauser } = await networkHelpers.loadFixture(fixture);
      await expect((registry.connect(pauser) as typeof registry).pause())
        .to.emit(registry, "Paused")
        .withArgs(pauser.address);
      const header = await makeHeader();
      await expect(submit(header)).to.be.revertedWithCustomError(registry, "EnforcedPause");
      await expect((registry.connect(pauser) as typeof registry).unpause()).to.emit(registry, "Unpaused");
      await expect(submit(header)).to.emit(registry, "AttestationSubmitted");
    });

    it("lets only the pauser pause and unpause", async function () {
      const { registry, outsider, admin } = await networkHelpers.loadFixture(fixture);
      const role = await registry.PAUSER_ROLE();
      await expect((registry.connect(outsider) as typeof registry).pause())
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(outsider.address, role);
      await expect(registry.unpause())
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, role);
    });
  });

  describe("submit: who may submit and the quorum", function () {
    it("reverts with OracleSetNodeNotActive when the sender is not an active oracle node", async function () {
      const { registry, oracleSet, makeHeader, sign, outsider, admin, oracles } =
        await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const signatures = await sign(header);
      await expect((registry.connect(outsider) as typeof registry).submit(header, signatures))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeNotActive")
        .withArgs(outsider.address);
      // a removed node may not submit either
      await oracleSet.connect(admin).removeNode(oracles[4]!.wallet.address);
      await expect((registry.connect(oracles[4]!.wallet) as typeof registry).submit(header, signatures))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeNotActive")
        .withArgs(oracles[4]!.wallet.address);
    });

    it("accepts a submission by an active node that did not sign", async function () {
      const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      await expect(submit(await makeHeader(), [0, 1, 2], 4)).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with OracleSetQuorumNotReached below the threshold", async function () {
      const { oracleSet, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
      await expect(submit(await makeHeader(), [0, 1]))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetQuorumNotReached")
        .withArgs(2, 3);
    });

    it("reverts with OracleSetSignersNotSorted for a duplicate signature", async function () {
      const { registry, oracleSet, makeHeader, sign, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const two = await sign(header, [0, 1]);
      const duplicated = concatHex([two, sliceHex(two, 65)]);
      await expect((registry.connect(oracles[0]!.wallet) as typeof registry).submit(header, duplicated))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetSignersNotSorted")
        .withArgs(2, oracles[1]!.wallet.address, oracles[1]!.wallet.address);
    });

    it("reverts with OracleSetSignersNotSorted for signatures out of address order", async function () {
      const { registry, oracleSet, makeHeader, sign, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const sorted = await sign(header, [0, 1, 2]);
      const swapped = concatHex([sliceHex(sorted, 65, 130), sliceHex(sorted, 0, 65), sliceHex(sorted, 130)]);
      await expect((registry.connect(oracles[0]!.wallet) as typeof registry).submit(header, swapped))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetSignersNotSorted")
        .withArgs(1, oracles[0]!.wallet.address, oracles[1]!.wallet.address);
    });

    it("reverts with OracleSetSignerNotActive for a removed node's signature", async function () {
      const { oracleSet, makeHeader, submit, admin, oracles } = await networkHelpers.loadFixture(fixture);
      await oracleSet.connect(admin).removeNode(oracles[1]!.wallet.address);
      await expect(submit(await makeHeader(), [0, 1, 2]))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetSignerNotActive")
        .withArgs(1, oracles[1]!.wallet.address);
    });

    it("reverts with OracleSetSignerNotActive for a signature over another header", async function () {
      const { registry, oracleSet, makeHeader, sign, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const other = await makeHeader({ readingCount: 721 });
      const wrong = await sign(other, [0, 1, 2]);
      await expect(
        (registry.connect(oracles[0]!.wallet) as typeof registry).submit(header, wrong),
      ).to.be.revertedWithCustomError(oracleSet, "OracleSetSignerNotActive");
    });

    it("reverts with OracleSetMalformedSignatures for an empty or ragged signature blob", async function () {
      const { registry, oracleSet, makeHeader, sign, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const asNode = registry.connect(oracles[0]!.wallet) as typeof registry;
      await expect(asNode.submit(header, "0x"))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetMalformedSignatures")
        .withArgs(0);
      const signatures = await sign(header);
      await expect(asNode.submit(header, sliceHex(signatures, 0, 194)))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetMalformedSignatures")
        .withArgs(194);
    });

    it("reverts with OracleSetInvalidSignature for a bad v, a high s or a signature that recovers no address", async function () {
      const { registry, oracleSet, makeHeader, sign, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      const asNode = registry.connect(oracles[0]!.wallet) as typeof registry;
      const signatures = await sign(header);
      const first = sliceHex(signatures, 0, 65);
      const badV = concatHex([sliceHex(first, 0, 64), "0x1d"]);
      await expect(asNode.submit(header, replaceSignature(signatures, 0, badV)))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidSignature")
        .withArgs(0);
      // the malleable twin (n − s, flipped v) of a valid signature
      const r = sliceHex(first, 0, 32);
      const s = BigInt(sliceHex(first, 32, 64));
      const v = Number(BigInt(sliceHex(first, 64)));
      const twin = concatHex([r, toHex(SECP256K1_N - s, { size: 32 }), toHex(v === 27 ? 28 : 27, { size: 1 })]);
      await expect(asNode.submit(header, replaceSignature(signatures, 0, twin)))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidSignature")
        .withArgs(0);
      const zero = concatHex([ZERO_BYTES32, ZERO_BYTES32, "0x1b"]);
      await expect(asNode.submit(header, replaceSignature(signatures, 2, zero)))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidSignature")
        .withArgs(2);
    });

    it("keeps existing attestations valid when the set and threshold change", async function () {
      const { registry, oracleSet, makeHeader, submit, idOf, admin, oracles } =
        await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header, [0, 1, 2]);
      const id = idOf(header);
      await oracleSet.connect(admin).setThreshold(2);
      await oracleSet.connect(admin).removeNode(oracles[1]!.wallet.address);
      await oracleSet.connect(admin).removeNode(oracles[2]!.wallet.address);
      expect(await registry.exists(id)).to.equal(true);
      expect((await registry.getAttestation(id)).signerBitmap).to.equal(0b111n);
      expect(await registry.wasSignedBy(id, oracles[1]!.wallet.address)).to.equal(true);
      // and new batches follow the new set and threshold
      const next = await makeHeader({ periodStart: header.periodEnd, periodEnd: header.periodEnd + 60n });
      await expect(submit(next, [0, 3])).to.emit(registry, "AttestationSubmitted");
    });
  });

  describe("submitCorrection", function () {
    async function withOriginal() {
      const f = await networkHelpers.loadFixture(fixture);
      const original = await f.makeHeader();
      await f.submit(original);
      const originalId = f.idOf(original);
      const correction = await f.makeHeader({
        periodStart: original.periodStart + 600n,
        periodEnd: original.periodStart + 1200n,
        merkleRoot: keccak256(stringToHex("late readings")),
        readingCount: 3,
        correctionOf: originalId,
      });
      const submitCorrection = async (header: BatchHeader, orig: BatchHeader, indices = [0, 1, 2], from = 0) =>
        (f.registry.connect(f.oracles[from]!.wallet) as typeof f.registry).submitCorrection(
          header,
          orig,
          await f.sign(header, indices),
        );
      return { ...f, original, originalId, correction, submitCorrection };
    }

    it("attests late readings inside the original's period without moving attestedUntil", async function () {
      const { registry, original, correction, submitCorrection, idOf } = await withOriginal();
      await expect(submitCorrection(correction, original))
        .to.emit(registry, "AttestationSubmitted")
        .withArgs(
          idOf(correction),
          correction.facilityId,
          0b111n,
          (h: BatchHeader) => h.correctionOf === correction.correctionOf,
        );
      expect(await registry.exists(idOf(correction))).to.equal(true);
      expect(await registry.attestedUntil(original.facilityId)).to.equal(original.periodEnd);
      // a second, different correction of the same period is allowed (each late reading goes into one)
      const another = { ...correction, merkleRoot: keccak256(stringToHex("later readings")) };
      await expect(submitCorrection(another, original)).to.emit(registry, "AttestationSubmitted");
      // a correction may span exactly the original's period
      const whole = { ...correction, periodStart: original.periodStart, periodEnd: original.periodEnd };
      await expect(submitCorrection(whole, original)).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with AttestationRegistryAlreadyAttested for the same correction twice", async function () {
      const { registry, original, correction, submitCorrection, idOf } = await withOriginal();
      await submitCorrection(correction, original);
      await expect(submitCorrection(correction, original))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryAlreadyAttested")
        .withArgs(idOf(correction));
    });

    it("corrects a revoked attestation (re-attestation of a wrong batch)", async function () {
      const { registry, verifier, original, originalId, correction, submitCorrection } = await withOriginal();
      await (registry.connect(verifier) as typeof registry).revoke(originalId, "wrong factor set");
      await expect(
        submitCorrection({ ...correction, periodStart: original.periodStart, periodEnd: original.periodEnd }, original),
      ).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with AttestationRegistryNotACorrection for a regular header", async function () {
      const { registry, original, correction, submitCorrection } = await withOriginal();
      await expect(
        submitCorrection({ ...correction, correctionOf: ZERO_BYTES32 }, original),
      ).to.be.revertedWithCustomError(registry, "AttestationRegistryNotACorrection");
    });

    it("reverts with AttestationRegistryOriginalMismatch when the original header is not the corrected one", async function () {
      const { registry, original, correction, submitCorrection, idOf } = await withOriginal();
      const fake = { ...original, fossilCo2eGrams: 1n };
      await expect(submitCorrection(correction, fake))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryOriginalMismatch")
        .withArgs(correction.correctionOf, idOf(fake));
    });

    it("reverts with AttestationRegistryUnknownAttestation when the original was never attested", async function () {
      const { registry, original, correction, submitCorrection, idOf } = await withOriginal();
      const never = { ...original, periodStart: original.periodEnd, periodEnd: original.periodEnd + 3600n };
      const c = {
        ...correction,
        periodStart: never.periodStart,
        periodEnd: never.periodStart + 60n,
        correctionOf: idOf(never),
      };
      await expect(submitCorrection(c, never))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryUnknownAttestation")
        .withArgs(idOf(never));
    });

    it("reverts with AttestationRegistryOriginalIsCorrection for a correction of a correction", async function () {
      const { registry, correction, original, submitCorrection, idOf } = await withOriginal();
      await submitCorrection(correction, original);
      const second = { ...correction, merkleRoot: keccak256(stringToHex("second")), correctionOf: idOf(correction) };
      await expect(submitCorrection(second, correction))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryOriginalIsCorrection")
        .withArgs(idOf(correction));
    });

    it("reverts with AttestationRegistryFacilityMismatch for another facility", async function () {
      const { registry, correction, original, submitCorrection } = await withOriginal();
      const other = idToBytes32("ktda-other");
      await expect(submitCorrection({ ...correction, facilityId: other }, original))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryFacilityMismatch")
        .withArgs(other, original.facilityId);
    });

    it("reverts with AttestationRegistryMethodologyMismatch for another methodology", async function () {
      // CarbonCredits scopes a project by (facility, methodology): a correction of another
      // methodology would settle the original's period against another project
      const { registry, correction, original, submitCorrection } = await withOriginal();
      const other = keccak256(stringToHex("carbonproof/methodology/v2"));
      expect(other).to.not.equal(original.methodologyId);
      await expect(submitCorrection({ ...correction, methodologyId: other }, original))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryMethodologyMismatch")
        .withArgs(other, original.methodologyId);
      // a factor set of a later edition is fine: the scope is the methodology
      await expect(
        submitCorrection({ ...correction, factorSetId: keccak256(stringToHex("factors/2027")) }, original),
      ).to.emit(registry, "AttestationSubmitted");
    });

    it("reverts with AttestationRegistryCorrectionOutsidePeriod for a period not inside the original's", async function () {
      const { registry, correction, original, submitCorrection } = await withOriginal();
      const before = { ...correction, periodStart: original.periodStart - 1n };
      await expect(submitCorrection(before, original))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryCorrectionOutsidePeriod")
        .withArgs(before.periodStart, before.periodEnd, original.periodStart, original.periodEnd);
      const after = { ...correction, periodEnd: original.periodEnd + 1n };
      await expect(submitCorrection(after, original)).to.be.revertedWithCustomError(
        registry,
        "AttestationRegistryCorrectionOutsidePeriod",
      );
    });

    it("applies the header checks, the quorum and the pause to corrections too", async function () {
      const { registry, oracleSet, correction, original, submitCorrection, pauser } = await withOriginal();
      await expect(
        submitCorrection({ ...correction, merkleRoot: ZERO_BYTES32 }, original),
      ).to.be.revertedWithCustomError(registry, "AttestationRegistryZeroRoot");
      await expect(submitCorrection(correction, original, [0])).to.be.revertedWithCustomError(
        oracleSet,
        "OracleSetQuorumNotReached",
      );
      await (registry.connect(pauser) as typeof registry).pause();
      await expect(submitCorrection(correction, original)).to.be.revertedWithCustomError(registry, "EnforcedPause");
    });
  });

  describe("revoke", function () {
    it("marks the attestation revoked with the verifier and reason in the event", async function () {
      const { registry, makeHeader, submit, idOf, verifier, now } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header);
      const id = idOf(header);
      await expect((registry.connect(verifier) as typeof registry).revoke(id, "sensor tampering"))
        .to.emit(registry, "AttestationRevoked")
        .withArgs(id, verifier.address, "sensor tampering");
      expect(await registry.isRevoked(id)).to.equal(true);
      expect(await registry.exists(id)).to.equal(true);
      expect((await registry.getAttestation(id)).revokedAt).to.equal(await now());
    });

    it("works while paused", async function () {
      const { registry, makeHeader, submit, idOf, verifier, pauser } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header);
      await (registry.connect(pauser) as typeof registry).pause();
      await expect((registry.connect(verifier) as typeof registry).revoke(idOf(header), "incident")).to.emit(
        registry,
        "AttestationRevoked",
      );
    });

    it("reverts with AttestationRegistryAlreadyRevoked the second time", async function () {
      const { registry, makeHeader, submit, idOf, verifier } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header);
      const asVerifier = registry.connect(verifier) as typeof registry;
      await asVerifier.revoke(idOf(header), "once");
      await expect(asVerifier.revoke(idOf(header), "twice"))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryAlreadyRevoked")
        .withArgs(idOf(header));
    });

    it("reverts with AttestationRegistryUnknownAttestation for an unknown id", async function () {
      const { registry, verifier } = await networkHelpers.loadFixture(fixture);
      const id = keccak256(stringToHex("nothing"));
      await expect((registry.connect(verifier) as typeof registry).revoke(id, "?"))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryUnknownAttestation")
        .withArgs(id);
      await expect(registry.getAttestation(id))
        .to.be.revertedWithCustomError(registry, "AttestationRegistryUnknownAttestation")
        .withArgs(id);
    });

    it("lets only a verifier revoke (not the admin, not an oracle node)", async function () {
      const { registry, makeHeader, submit, idOf, admin, oracles } = await networkHelpers.loadFixture(fixture);
      const header = await makeHeader();
      await submit(header);
      const role = await registry.VERIFIER_ROLE();
      await expect(registry.connect(admin).revoke(idOf(header), "x"))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, role);
      await expect((registry.connect(oracles[0]!.wallet) as typeof registry).revoke(idOf(header), "x"))
        .to.be.revertedWithCustomError(registry, "AccessControlUnauthorizedAccount")
        .withArgs(oracles[0]!.wallet.address, role);
    });
  });

  describe("verifyReading (cross-check with the sdk's SHA-256 Merkle tree)", function () {
    it("proves every reading of a batch built by the sdk and rejects tampered leaves and proofs", async function () {
      const { registry, makeHeader, submit, idOf } = await networkHelpers.loadFixture(fixture);
      const digests = Array.from({ length: 37 }, (_, i) => sha256Bytes(new TextEncoder().encode(`reading ${i}`)));
      const tree = buildMerkleTree(digests);
      const header = await makeHeader({ merkleRoot: tree.root, readingCount: digests.length });
      await submit(header);
      const id = idOf(header);
      for (const digest of digests) {
        const leaf = leafHash(digest);
        const proof = getProof(tree, leaf);
        expect(await registry.verifyReading(id, leaf, proof)).to.equal(true);
        expect(await registry.verifyReadingDigest(id, toHex(digest), proof)).to.equal(true);
      }
      const leaf = leafHash(digests[5]!);
      const proof = getProof(tree, leaf);
      // a tampered leaf, the raw digest instead of the leaf, a tampered sibling, another attestation
      const tampered = toHex(BigInt(leaf) ^ 1n, { size: 32 });
      expect(await registry.verifyReading(id, tampered, proof)).to.equal(false);
      expect(await registry.verifyReading(id, toHex(digests[5]!), proof)).to.equal(false);
      const badProof = [...proof];
      badProof[2] = toHex(BigInt(badProof[2]!) ^ 1n, { size: 32 });
      expect(await registry.verifyReading(id, leaf, badProof)).to.equal(false);
      expect(await registry.verifyReading(keccak256("0x"), leaf, proof)).to.equal(false);
      expect(await registry.verifyReadingDigest(keccak256("0x"), toHex(digests[5]!), proof)).to.equal(false);
    });

    it("takes verifyReading's leaf as given (the root passes with no proof); verifyReadingDigest hashes it first", async function () {
      const { registry, makeHeader, submit, idOf } = await networkHelpers.loadFixture(fixture);
      const digests = Array.from({ length: 4 }, (_, i) => sha256Bytes(new TextEncoder().encode(`reading ${i}`)));
      const tree = buildMerkleTree(digests);
      const header = await makeHeader({ merkleRoot: tree.root, readingCount: digests.length });
      await submit(header);
      const id = idOf(header);
      // documented (IAttestationRegistry, docs/contracts.md): a caller must not take a leaf from others
      expect(await registry.verifyReading(id, tree.root, [])).to.equal(true);
      expect(await registry.verifyReadingDigest(id, tree.root, [])).to.equal(false);
    });

    it("proves the single reading of a one-leaf batch with an empty proof", async function () {
      const { registry, makeHeader, submit, idOf } = await networkHelpers.loadFixture(fixture);
      const digest = sha256Bytes(new TextEncoder().encode("only reading"));
      const tree = buildMerkleTree([digest]);
      expect(tree.root).to.equal(leafHash(digest));
      const header = await makeHeader({ merkleRoot: tree.root, readingCount: 1 });
      await submit(header);
      expect(await registry.verifyReading(idOf(header), leafHash(digest), [])).to.equal(true);
    });

    it("answers a calling contract (GasProbe) within the depth-20 budget less 500 gas per missing level", async function () {
      const { registry, makeHeader, submit, idOf, ethers } = await networkHelpers.loadFixture(fixture);
      const digests = Array.from({ length: 2 ** 20 / 2 ** 14 }, (_, i) =>
        sha256Bytes(new TextEncoder().encode(`r${i}`)),
      );
      const tree = buildMerkleTree(digests);
      const header = await makeHeader({ merkleRoot: tree.root, readingCount: digests.length });
      await submit(header);
      const leaf = leafHash(digests[0]!);
      const proof = getProof(tree, leaf);
      // a 64-leaf tree (depth 6); bench/gas.ts measures depth 10 and 20 exactly
      const probe = await ethers.deployContract("GasProbe");
      const data = registry.interface.encodeFunctionData("verifyReading", [idOf(header), leaf, proof]);
      const [gasUsed, success, returned] = await probe.measure(await registry.getAddress(), data);
      expect(success).to.equal(true);
      expect(BigInt(returned)).to.equal(1n);
      expect(Number(gasUsed)).to.be.below(30_000 - (20 - proof.length) * 500);
    });

    it("does not prove a zero leaf against an unknown attestation", async function () {
      const { registry } = await networkHelpers.loadFixture(fixture);
      expect(await registry.verifyReading(keccak256("0x01"), ZERO_BYTES32, [])).to.equal(false);
    });
  });

  it("keeps facility ids in the event reversible to their string (docs/protocol.md)", async function () {
    const { registry, makeHeader, submit } = await networkHelpers.loadFixture(fixture);
    const header = await makeHeader();
    const receipt = await (await submit(header)).wait();
    const log = registry.interface.parseLog(receipt!.logs[0]!)!;
    expect(Buffer.from(log.args.facilityId.slice(2), "hex").toString("ascii").replace(/\0+$/, "")).to.equal(FACILITY);
  });
});
