import { expect } from "chai";
import { network } from "hardhat";
import { AbiCoder, encodeBytes32String, keccak256, toUtf8Bytes } from "ethers";
import { deployAll, header, DAY, CHALLENGE_WINDOW, Y2025, Y2026, FACILITY, METHODOLOGY, ZERO32 } from "./fixture.ts";

const connection = await network.create();
const { networkHelpers } = connection;
const { time } = networkHelpers;

/** Contracts deployed and wired, nothing registered. */
async function base() {
  return deployAll(connection);
}

/** CarbonCredits.AttestationState */
const State = { None: 0, Challenged: 1, Dismissed: 2, Upheld: 3, Issued: 4, Correction: 5 } as const;

/** Project 1 (baseline 1,000,000 g/day from 2025-01-01), days 0-2 of 2025 attested, windows over. */
async function attested() {
  const f = await deployAll(connection);
  const projectId = await f.registerProject();
  const headers = [0n, 1n, 2n].map((day) => header({ day }));
  const ids = [];
  for (const h of headers) ids.push(await f.attest(h));
  await time.increase(CHALLENGE_WINDOW);
  const tokenId = await f.credits.tokenIdOf(projectId, 2025n);
  return { ...f, projectId, headers, ids, tokenId };
}

/** Same, but the attestations are fresh (windows open). */
async function fresh() {
  const f = await deployAll(connection);
  const projectId = await f.registerProject();
  const h = header({ day: 0n });
  const id = await f.attest(h);
  return { ...f, projectId, h, id };
}

describe("CarbonCredits", function () {
  describe("projects and baselines", function () {
    it("registers a project with its first baseline segment and events", async function () {
      const f = await networkHelpers.loadFixture(base);
      const tx = f.credits.connect(f.verifier).registerProject({
        proponent: f.proponent.address,
        facilityId: FACILITY,
        methodologyId: METHODOLOGY,
        name: "P",
        standard: "S",
        baselineEffectiveFrom: Y2025,
        baselineGramsPerDay: 5n,
        baselineCid: "cid",
      });
      await expect(tx)
        .to.emit(f.credits, "ProjectRegistered")
        .withArgs(1n, FACILITY, METHODOLOGY, f.proponent.address, "P", "S");
      await expect(tx).to.emit(f.credits, "BaselineSet").withArgs(1n, Y2025, 5n, "cid");
      const p = await f.credits.getProject(1n);
      expect(p.proponent).to.equal(f.proponent.address);
      expect(p.facilityId).to.equal(FACILITY);
      expect(p.methodologyId).to.equal(METHODOLOGY);
      expect(p.active).to.equal(true);
      expect(p.name).to.equal("P");
      expect(p.baselineCid).to.equal("cid");
      expect((await f.credits.getBaselines(1n)).map((s) => [s.effectiveFrom, s.gramsPerDay])).to.deep.equal([
        [Y2025, 5n],
      ]);
    });

    it("test_registerProject_revertsWhen_notVerifier / zero proponent / zero facility", async function () {
      const f = await networkHelpers.loadFixture(base);
      const p = {
        proponent: f.proponent.address,
        facilityId: FACILITY,
        methodologyId: METHODOLOGY,
        name: "P",
        standard: "S",
        baselineEffectiveFrom: Y2025,
        baselineGramsPerDay: 5n,
        baselineCid: "cid",
      };
      await expect(f.credits.connect(f.other).registerProject(p))
        .to.be.revertedWithCustomError(f.credits, "AccessControlUnauthorizedAccount")
        .withArgs(f.other.address, await f.credits.VERIFIER_ROLE());
      await expect(
        f.credits.connect(f.verifier).registerProject({ ...p, proponent: f.ethers.ZeroAddress }),
      ).to.be.revertedWithCustomError(f.credits, "CarbonCreditsInvalidProject");
      await expect(
        f.credits.connect(f.verifier).registerProject({ ...p, facilityId: ZERO32 }),
      ).to.be.revertedWithCustomError(f.credits, "CarbonCreditsInvalidProject");
      await f.credits.connect(f.verifier).registerProject(p);
      const scope = keccak256(AbiCoder.defaultAbiCoder().encode(["bytes32", "bytes32"], [FACILITY, METHODOLOGY]));
      expect(await f.credits.projectOfScope(scope)).to.equal(1n);
      await expect(f.credits.connect(f.verifier).registerProject(p))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsScopeTaken")
        .withArgs(FACILITY, METHODOLOGY, 1n);
      // another methodology on the same facility is another project
      await f.credits.connect(f.verifier).registerProject({ ...p, methodologyId: keccak256(toUtf8Bytes("other")) });
    });

    it("integrates the baseline over segments, floored once", async function () {
      const f = await networkHelpers.loadFixture(base);
      const id = await f.registerProject(1_000_000n, Y2025);
      await expect(f.credits.connect(f.verifier).setBaseline(id, Y2025 + DAY / 2n, 2_000_001n, "cid2"))
        .to.emit(f.credits, "BaselineSet")
        .withArgs(id, Y2025 + DAY / 2n, 2_000_001n, "cid2");
      // half a day at 1,000,000 + half a day at 2,000,001 = 1,500,000.5 → 1,500,000
      expect(await f.credits.baselineGrams(id, Y2025, Y2025 + DAY)).to.equal(1_500_000n);
      expect(await f.credits.baselineGrams(id, Y2025 + DAY, Y2025 + 2n * DAY)).to.equal(2_000_001n);
      expect(await f.credits.baselineGrams(id, Y2025, Y2025 + 3600n)).to.equal(1_000_000n / 24n);
      await expect(f.credits.baselineGrams(id, Y2025 - 1n, Y2025 + 10n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNoBaseline")
        .withArgs(id, Y2025 - 1n);
      await expect(f.credits.baselineGrams(id, Y2025 + 10n, Y2025 + 10n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsInvalidPeriod")
        .withArgs(Y2025 + 10n, Y2025 + 10n);
      await expect(f.credits.baselineGrams(9n, Y2025, Y2025 + 10n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsUnknownProject")
        .withArgs(9n);
      // a later segment that starts after a period's end is skipped
      await f.credits.connect(f.verifier).setBaseline(id, Y2025 + 10n * DAY, 7n, "cid3");
      expect(await f.credits.baselineGrams(id, Y2025 + DAY, Y2025 + 2n * DAY)).to.equal(2_000_001n);
      expect((await f.credits.getBaselines(id)).length).to.equal(3);
    });

    it("test_setBaseline_revertsWhen_notAfterPreviousSegment or before an issued period end", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.connect(f.verifier).setBaseline(f.projectId, Y2025, 1n, "x"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsBaselineTooEarly")
        .withArgs(Y2025, Y2025 + 1n);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 1n);
      const end = f.headers[1].periodEnd;
      await expect(f.credits.connect(f.verifier).setBaseline(f.projectId, end - 1n, 1n, "x"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsBaselineTooEarly")
        .withArgs(end - 1n, end);
      // an unissued earlier period keeps the old baseline: changes apply only after issuedThrough
      await f.credits.connect(f.verifier).setBaseline(f.projectId, end, 1n, "x");
      expect(await f.credits.issuanceBound(f.projectId, f.headers[0])).to.equal(400n);
      await expect(
        f.credits.connect(f.other).setBaseline(f.projectId, end + 5n, 1n, "x"),
      ).to.be.revertedWithCustomError(f.credits, "AccessControlUnauthorizedAccount");
    });

    it("hands a project to a new proponent (proponent only)", async function () {
      const f = await networkHelpers.loadFixture(base);
      const id = await f.registerProject();
      await expect(f.credits.connect(f.other).setProponent(id, f.other.address))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotProponent")
        .withArgs(id, f.other.address);
      await expect(f.credits.connect(f.proponent).setProponent(id, f.ethers.ZeroAddress)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsInvalidProject",
      );
      await expect(f.credits.connect(f.proponent).setProponent(id, f.other.address))
        .to.emit(f.credits, "ProjectProponentChanged")
        .withArgs(id, f.proponent.address, f.other.address);
      expect((await f.credits.getProject(id)).proponent).to.equal(f.other.address);
    });

    it("suspends issuance of an inactive project", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.connect(f.verifier).setProjectActive(f.projectId, false))
        .to.emit(f.credits, "ProjectActiveSet")
        .withArgs(f.projectId, false);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsProjectInactive")
        .withArgs(f.projectId);
      await f.credits.connect(f.verifier).setProjectActive(f.projectId, true);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n);
      await expect(f.credits.connect(f.verifier).issue(7n, f.headers[1], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsUnknownProject")
        .withArgs(7n);
    });
  });

  describe("issue", function () {
    it("issues up to floor((baseline − fossil) / 1000) kg to the proponent, once per attestation", async function () {
      const f = await networkHelpers.loadFixture(attested);
      // baseline 1,000,000 g − fossil 600,000 g = 400,000 g → 400 kg
      expect(await f.credits.issuanceBound(f.projectId, f.headers[0])).to.equal(400n);
      const tx = f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      await expect(tx)
        .to.emit(f.credits, "CreditsIssued")
        .withArgs(f.tokenId, f.ids[0], f.projectId, f.proponent.address, 400n, 400n, 0n);
      await expect(tx)
        .to.emit(f.credits, "TransferSingle")
        .withArgs(f.verifier.address, f.ethers.ZeroAddress, f.proponent.address, f.tokenId, 400n);
      expect(await f.credits.balanceOf(f.proponent.address, f.tokenId)).to.equal(400n);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(400n);
      const use = await f.credits.attestationUse(f.ids[0]);
      expect([use.state, use.projectId, use.amount]).to.deep.equal([BigInt(State.Issued), f.projectId, 400n]);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationUsed")
        .withArgs(f.ids[0], State.Issued);
      expect((await f.credits.getProject(f.projectId)).issuedThrough).to.equal(f.headers[0].periodEnd);
    });

    it("encodes the token id as projectId << 16 | vintage", async function () {
      const f = await networkHelpers.loadFixture(base);
      expect(await f.credits.tokenIdOf(3n, 2025n)).to.equal((3n << 16n) | 2025n);
      const [p, v] = await f.credits.decodeTokenId((3n << 16n) | 2025n);
      expect([p, v]).to.deep.equal([3n, 2025n]);
    });

    it("test_issue_revertsWhen_amountExceedsReduction", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 401n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(401n, 400n);
    });

    it("test_issue_revertsWhen_emissionsAtOrAboveBaseline (bound 0)", async function () {
      const f = await networkHelpers.loadFixture(base);
      const id = await f.registerProject(600_999n);
      const h = header({ day: 0n });
      await f.attest(h);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.verifier).issue(id, h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(1n, 0n);
      await expect(f.credits.connect(f.verifier).issue(id, h, 0n)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsZeroAmount",
      );
    });

    it("test_issue_revertsWhen_correctionBatch", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const c = header({ day: 0n, correctionOf: f.ids[0], fossilCo2eGrams: 5n });
      await expect(f.credits.connect(f.verifier).issue(f.projectId, c, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsCorrectionBacksNoIssuance")
        .withArgs(f.ids[0]);
    });

    it("test_issue_revertsWhen_wrongFacilityOrMethodology", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const otherFacility = encodeBytes32String("other-factory");
      const otherMethod = keccak256(toUtf8Bytes("other"));
      await expect(f.credits.connect(f.verifier).issue(f.projectId, header({ facilityId: otherFacility }), 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsWrongFacility")
        .withArgs(FACILITY, otherFacility);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, header({ methodologyId: otherMethod }), 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsWrongMethodology")
        .withArgs(METHODOLOGY, otherMethod);
    });

    it("test_issue_revertsWhen_unknownAttestation", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const h = header({ day: 9n });
      await expect(f.credits.connect(f.verifier).issue(f.projectId, h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsUnknownAttestation")
        .withArgs(f.attestationId(h));
    });

    it("test_issue_revertsWhen_attestationRevoked", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await f.registry.connect(f.verifier).revoke(f.ids[1], "bad sensor");
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationRevoked")
        .withArgs(f.ids[1]);
    });

    it("test_issue_revertsWhen_challengeWindowOpen", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      const submittedAt = (await f.registry.getAttestation(f.id)).submittedAt;
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengeWindowOpen")
        .withArgs(f.id, submittedAt + CHALLENGE_WINDOW);
      await time.increaseTo(submittedAt + CHALLENGE_WINDOW - 1n); // next block is exactly at the end
      await f.credits.connect(f.verifier).issue(f.projectId, f.h, 1n);
    });

    it("test_issue_revertsWhen_issuerCoSignedTheAttestation (separation of duties)", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const node = f.nodes[0];
      await f.credits.grantRole(await f.credits.VERIFIER_ROLE(), node.address);
      await expect((f.credits.connect(node) as typeof f.credits).issue(f.projectId, f.headers[0], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsSignerCannotIssue")
        .withArgs(f.ids[0], node.address);
      // node 2 did not sign: it may issue (it holds the verifier role here only for this check)
      const node2 = f.nodes[2];
      await f.credits.grantRole(await f.credits.VERIFIER_ROLE(), node2.address);
      await (f.credits.connect(node2) as typeof f.credits).issue(f.projectId, f.headers[0], 1n);
    });

    it("test_issue_revertsWhen_periodSpansTwoVintages", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const h = header({ periodStart: Y2026 - DAY / 2n, periodEnd: Y2026 + DAY / 2n });
      await f.attest(h);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsPeriodSpansVintages")
        .withArgs(h.periodStart, h.periodEnd);
      // the next period lies inside 2026: vintage 2026
      const last = header({ periodStart: Y2026 + DAY / 2n, periodEnd: Y2026 + DAY, fossilCo2eGrams: 1_000n });
      await f.attest(last);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.connect(f.verifier).issue(f.projectId, last, 1n);
      expect(await f.credits.balanceOf(f.proponent.address, await f.credits.tokenIdOf(f.projectId, 2026n))).to.equal(
        1n,
      );
    });

    it("test_issue_revertsWhen_notVerifier or paused", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.connect(f.other).issue(f.projectId, f.headers[0], 1n))
        .to.be.revertedWithCustomError(f.credits, "AccessControlUnauthorizedAccount")
        .withArgs(f.other.address, await f.credits.VERIFIER_ROLE());
      await f.credits.pause();
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n)).to.be.revertedWithCustomError(
        f.credits,
        "EnforcedPause",
      );
      await expect(f.credits.connect(f.other).pause()).to.be.revertedWithCustomError(
        f.credits,
        "AccessControlUnauthorizedAccount",
      );
      await f.credits.unpause();
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n);
    });

    it("issuanceBound is 0 for an attestation that cannot be issued (review: it added issued kg to grams)", async function () {
      const f = await networkHelpers.loadFixture(attested);
      expect(await f.credits.issuanceBound(f.projectId, f.headers[0])).to.equal(400n);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      expect(await f.credits.issuanceBound(f.projectId, f.headers[0])).to.equal(0n);
      const c = header({ correctionOf: f.ids[1], periodStart: f.headers[1].periodStart, fossilCo2eGrams: 1_000n });
      await f.attestCorrection(c, f.headers[1]);
      const next = header({ day: 3n });
      const nextId = await f.attest(next);
      await f.credits.connect(f.auditor).challenge(nextId, "r", "e");
      expect(await f.credits.issuanceBound(f.projectId, next)).to.equal(0n); // challenged
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.recordCorrection(c);
      expect(await f.credits.issuanceBound(f.projectId, c)).to.equal(0n); // a correction
      expect(await f.credits.issuanceBound(f.projectId, f.headers[1])).to.equal(399n); // its pending grams count
      await f.credits.connect(f.arbiter).resolveChallenge(nextId, false, "fine");
      expect(await f.credits.issuanceBound(f.projectId, next)).to.equal(400n); // dismissed
    });

    it("issues periods out of order, each against the baseline of its own period", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[2], 400n);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      expect((await f.credits.getProject(f.projectId)).issuedThrough).to.equal(f.headers[2].periodEnd);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(800n);
    });
  });

  describe("challenges", function () {
    it("an auditor challenge blocks issuance until an arbiter dismisses it", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await expect(f.credits.connect(f.auditor).challenge(f.id, "stack temperature implausible", "bafkreievidence"))
        .to.emit(f.credits, "AttestationChallenged")
        .withArgs(f.id, f.auditor.address, "stack temperature implausible", "bafkreievidence");
      expect(await f.credits.challengerOf(f.id)).to.equal(f.auditor.address);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengePending")
        .withArgs(f.id);
      await expect(f.credits.connect(f.arbiter).resolveChallenge(f.id, false, "within tolerance"))
        .to.emit(f.credits, "ChallengeResolved")
        .withArgs(f.id, f.arbiter.address, false, "within tolerance");
      expect((await f.credits.attestationUse(f.id)).state).to.equal(BigInt(State.Dismissed));
      await f.credits.connect(f.verifier).issue(f.projectId, f.h, 400n);
    });

    it("an upheld challenge revokes the attestation in the registry", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await f.credits.connect(f.verifier).challenge(f.id, "duplicate readings", "bafkreidup");
      await expect(f.credits.connect(f.arbiter).resolveChallenge(f.id, true, "upheld: duplicates"))
        .to.emit(f.registry, "AttestationRevoked")
        .withArgs(f.id, await f.credits.getAddress(), "upheld: duplicates");
      expect(await f.registry.isRevoked(f.id)).to.equal(true);
      expect((await f.credits.attestationUse(f.id)).state).to.equal(BigInt(State.Upheld));
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.h, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationRevoked")
        .withArgs(f.id);
    });

    it("an upheld challenge of an attestation the registry already revoked just records it", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await f.credits.connect(f.auditor).challenge(f.id, "r", "e");
      await f.registry.connect(f.verifier).revoke(f.id, "already");
      await f.credits.connect(f.arbiter).resolveChallenge(f.id, true, "n");
      expect((await f.credits.attestationUse(f.id)).state).to.equal(BigInt(State.Upheld));
    });

    it("test_challenge_revertsWhen_notAuditorOrVerifier / emptyText / unknown / revoked / closed / twice", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await expect(f.credits.connect(f.other).challenge(f.id, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "AccessControlUnauthorizedAccount")
        .withArgs(f.other.address, await f.credits.AUDITOR_ROLE());
      await expect(f.credits.connect(f.auditor).challenge(f.id, "", "e")).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsEmptyText",
      );
      await expect(f.credits.connect(f.auditor).challenge(f.id, "r", "")).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsEmptyText",
      );
      await expect(f.credits.connect(f.auditor).challenge(ZERO32, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsUnknownAttestation")
        .withArgs(ZERO32);
      await f.credits.connect(f.auditor).challenge(f.id, "r", "e");
      await expect(f.credits.connect(f.auditor).challenge(f.id, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationUsed")
        .withArgs(f.id, State.Challenged);
      const h2 = header({ day: 1n });
      const id2 = await f.attest(h2);
      await f.registry.connect(f.verifier).revoke(id2, "x");
      await expect(f.credits.connect(f.auditor).challenge(id2, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationRevoked")
        .withArgs(id2);
      const h3 = header({ day: 2n });
      const id3 = await f.attest(h3);
      const submittedAt = (await f.registry.getAttestation(id3)).submittedAt;
      await time.increaseTo(submittedAt + CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.auditor).challenge(id3, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengeWindowClosed")
        .withArgs(id3, submittedAt + CHALLENGE_WINDOW);
    });

    it("test_resolveChallenge_revertsWhen_notArbiter / notChallenged / selfResolution / alreadyResolved", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await expect(f.credits.connect(f.arbiter).resolveChallenge(f.id, false, "n"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotChallenged")
        .withArgs(f.id);
      await f.credits.grantRole(await f.credits.AUDITOR_ROLE(), f.arbiter.address);
      await f.credits.connect(f.arbiter).challenge(f.id, "r", "e");
      await expect(f.credits.connect(f.arbiter).resolveChallenge(f.id, false, "n"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsSelfResolution")
        .withArgs(f.id, f.arbiter.address);
      await expect(f.credits.connect(f.auditor).resolveChallenge(f.id, false, "n"))
        .to.be.revertedWithCustomError(f.credits, "AccessControlUnauthorizedAccount")
        .withArgs(f.auditor.address, await f.credits.ARBITER_ROLE());
      await f.credits.grantRole(await f.credits.ARBITER_ROLE(), f.other.address);
      await f.credits.connect(f.other).resolveChallenge(f.id, false, "n");
      await expect(f.credits.connect(f.other).resolveChallenge(f.id, true, "n"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotChallenged")
        .withArgs(f.id);
      // a dismissed attestation cannot be challenged again
      await expect(f.credits.connect(f.auditor).challenge(f.id, "r", "e"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationUsed")
        .withArgs(f.id, State.Dismissed);
    });
  });

  describe("corrections", function () {
    it("a correction of an issued period is covered before any further credit of the project", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      const c = header({
        periodStart: f.headers[0].periodStart + 3600n,
        periodEnd: f.headers[0].periodStart + 7200n,
        correctionOf: f.ids[0],
        fossilCo2eGrams: 150_500n,
      });
      const cid = await f.attestCorrection(c, f.headers[0]);
      await expect(f.credits.recordCorrection(c)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsChallengeWindowOpen",
      );
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.other).recordCorrection(c))
        .to.emit(f.credits, "CorrectionRecorded")
        .withArgs(cid, f.ids[0], f.projectId, 150_500n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(150_500n);
      await expect(f.credits.recordCorrection(c))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationUsed")
        .withArgs(cid, State.Correction);
      // next period: 400,000 g reduction − 150,500 g debt = 249,500 g → 249 kg
      expect(await f.credits.issuanceBound(f.projectId, f.headers[1])).to.equal(249n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 250n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(250n, 249n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 249n))
        .to.emit(f.credits, "CreditsIssued")
        .withArgs(f.tokenId, f.ids[1], f.projectId, f.proponent.address, 249n, 249n, 150_500n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(0n);
    });

    it("a debt larger than a period's reduction takes all of it (issuance of 0 kg records that)", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      const c = header({ correctionOf: f.ids[0], fossilCo2eGrams: 500_000n });
      await f.attestCorrection(c, f.headers[0]);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.recordCorrection(c);
      expect(await f.credits.issuanceBound(f.projectId, f.headers[1])).to.equal(0n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(1n, 0n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[1], 0n))
        .to.emit(f.credits, "CreditsIssued")
        .withArgs(f.tokenId, f.ids[1], f.projectId, f.proponent.address, 0n, 0n, 400_000n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(100_000n);
      // 400,000 − 100,000 = 300,000 g → 300 kg
      expect(await f.credits.issuanceBound(f.projectId, f.headers[2])).to.equal(300n);
    });

    it("a correction of a period not yet issued lowers that period's own bound", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const c = header({ correctionOf: f.ids[2], periodStart: f.headers[2].periodStart, fossilCo2eGrams: 1_500n });
      const cid = await f.attestCorrection(c, f.headers[2]);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.recordCorrection(c))
        .to.emit(f.credits, "CorrectionRecorded")
        .withArgs(cid, f.ids[2], 0n, 1_500n);
      expect((await f.credits.attestationUse(f.ids[2])).amount).to.equal(1_500n);
      // 1,000,000 − 600,000 − 1,500 = 398,500 g → 398 kg
      expect(await f.credits.issuanceBound(f.projectId, f.headers[2])).to.equal(398n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[2], 398n))
        .to.emit(f.credits, "CreditsIssued")
        .withArgs(f.tokenId, f.ids[2], f.projectId, f.proponent.address, 398n, 398n, 1_500n);
    });

    it("a re-attested revoked (upheld) period below its baseline is settled: its reduction backs nothing", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await f.credits.connect(f.auditor).challenge(f.id, "r", "e");
      await f.credits.connect(f.arbiter).resolveChallenge(f.id, true, "n");
      const c = header({ correctionOf: f.id, fossilCo2eGrams: 10n });
      const cid = await f.attestCorrection(c, f.h);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.recordCorrection(c))
        .to.emit(f.credits, "CorrectionRecorded")
        .withArgs(cid, f.id, 0n, 10n)
        .and.to.emit(f.credits, "ShortfallRecorded")
        .withArgs(f.id, f.projectId, 0n);
      const use = await f.credits.attestationUse(f.id);
      expect([use.state, use.projectId, use.amount]).to.deep.equal([BigInt(State.Issued), f.projectId, 0n]);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(0n);
      // settled: a later correction of it is charged in full
      const late = header({
        correctionOf: f.id,
        periodStart: f.h.periodStart + 60n,
        periodEnd: f.h.periodEnd,
        fossilCo2eGrams: 25n,
      });
      await f.attestCorrection(late, f.h);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.recordCorrection(late);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(25n);
    });

    it("a revoked period cannot be re-attested under another methodology, whose scope has no project (review: it charged nobody)", async function () {
      const f = await networkHelpers.loadFixture(fresh);
      await f.registry.connect(f.verifier).revoke(f.id, "wrong factor set");
      const other = keccak256(toUtf8Bytes("other"));
      const c = header({ correctionOf: f.id, methodologyId: other, fossilCo2eGrams: 5n });
      // _settleRevoked charges the project of the correction's (facility, methodology): the registry
      // takes a correction only with its original's methodology, so that is the revoked period's project
      await expect(f.attestCorrection(c, f.h))
        .to.be.revertedWithCustomError(f.registry, "AttestationRegistryMethodologyMismatch")
        .withArgs(other, f.h.methodologyId);
      const use = await f.credits.attestationUse(f.id);
      expect([use.state, use.amount]).to.deep.equal([BigInt(State.None), 0n]);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(0n);
    });

    it("test_recordCorrection_revertsWhen_regularBatch / paused", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.recordCorrection(f.headers[0]))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotACorrection")
        .withArgs(f.ids[0]);
      await f.credits.pause();
      await expect(f.credits.recordCorrection(f.headers[0])).to.be.revertedWithCustomError(f.credits, "EnforcedPause");
    });
  });

  describe("periods above their baseline (review: credits exceeded the net reduction)", function () {
    /** Baseline 1,000,000 g/day; day 0 in two halves: a day shift emitting twice its baseline, a night shift emitting nothing. */
    async function shifts() {
      const f = await deployAll(connection);
      const projectId = await f.registerProject();
      const day = header({ periodStart: Y2025, periodEnd: Y2025 + DAY / 2n, fossilCo2eGrams: 1_000_000n });
      const night = header({ periodStart: Y2025 + DAY / 2n, periodEnd: Y2025 + DAY, fossilCo2eGrams: 0n });
      const dayId = await f.attest(day);
      const nightId = await f.attest(night);
      await time.increase(CHALLENGE_WINDOW);
      const tokenId = await f.credits.tokenIdOf(projectId, 2025n);
      return { ...f, projectId, day, night, dayId, nightId, tokenId };
    }

    it("the excess of a period above its baseline is owed by the project: the day nets to 0 kg", async function () {
      const f = await networkHelpers.loadFixture(shifts);
      // the day shift cannot be issued: it says by how much it is above
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.day, 0n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsPeriodAboveBaseline")
        .withArgs(f.dayId, 500_000n);
      // anyone settles it once its window is over; the night then backs nothing
      await expect(f.credits.connect(f.other).recordShortfall(f.projectId, f.day))
        .to.emit(f.credits, "ShortfallRecorded")
        .withArgs(f.dayId, f.projectId, 500_000n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(500_000n);
      expect((await f.credits.getProject(f.projectId)).issuedThrough).to.equal(f.day.periodEnd);
      const use = await f.credits.attestationUse(f.dayId);
      expect([use.state, use.projectId, use.amount]).to.deep.equal([BigInt(State.Issued), f.projectId, 0n]);
      await expect(f.credits.recordShortfall(f.projectId, f.day))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationUsed")
        .withArgs(f.dayId, State.Issued);
      expect(await f.credits.issuanceBound(f.projectId, f.night)).to.equal(0n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.night, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(1n, 0n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.night, 0n))
        .to.emit(f.credits, "CreditsIssued")
        .withArgs(f.tokenId, f.nightId, f.projectId, f.proponent.address, 0n, 0n, 500_000n);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(0n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(0n);
    });

    it("night issued first: the day's excess is covered by the project's next credits", async function () {
      const f = await networkHelpers.loadFixture(shifts);
      await f.credits.connect(f.verifier).issue(f.projectId, f.night, 500n);
      await f.credits.connect(f.other).recordShortfall(f.projectId, f.day);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(500_000n);
      const next = header({ day: 1n }); // 1,000,000 − 600,000 = 400,000 g, all of it to the debt
      await f.attest(next);
      await time.increase(CHALLENGE_WINDOW);
      expect(await f.credits.issuanceBound(f.projectId, next)).to.equal(0n);
      await f.credits.connect(f.verifier).issue(f.projectId, next, 0n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(100_000n);
      // 500 kg issued against a net reduction of 500 + 400 − 500 = 400 kg so far, 100 kg still owed
    });

    it("a correction of a settled period is charged to the project", async function () {
      const f = await networkHelpers.loadFixture(shifts);
      await f.credits.recordShortfall(f.projectId, f.day);
      const c = header({
        periodStart: f.day.periodStart,
        periodEnd: f.day.periodEnd,
        correctionOf: f.dayId,
        fossilCo2eGrams: 7n,
      });
      await f.attestCorrection(c, f.day);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.recordCorrection(c);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(500_007n);
    });

    it("revoking a period above its baseline does not erase its excess (review: the night was issued against a net 0)", async function () {
      const f = await networkHelpers.loadFixture(shifts);
      // the registry's verifier revokes the day shift: it can no longer be settled as it stands
      await f.registry.connect(f.verifier).revoke(f.dayId, "bad batch");
      await expect(f.credits.recordShortfall(f.projectId, f.day))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAttestationRevoked")
        .withArgs(f.dayId);
      // the period is re-attested as a correction with its true emissions: settling it charges the excess
      const re = header({
        periodStart: f.day.periodStart,
        periodEnd: f.day.periodEnd,
        correctionOf: f.dayId,
        fossilCo2eGrams: 1_000_000n,
        bundleCid: "bafyreattest",
      });
      const reId = await f.attestCorrection(re, f.day);
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.connect(f.other).recordCorrection(re))
        .to.emit(f.credits, "CorrectionRecorded")
        .withArgs(reId, f.dayId, 0n, 1_000_000n)
        .and.to.emit(f.credits, "ShortfallRecorded")
        .withArgs(f.dayId, f.projectId, 500_000n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(500_000n);
      expect((await f.credits.getProject(f.projectId)).issuedThrough).to.equal(f.day.periodEnd);
      // the night nets to 0 kg, as if the day had never been revoked
      expect(await f.credits.issuanceBound(f.projectId, f.night)).to.equal(0n);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.night, 500n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsAmountExceedsBound")
        .withArgs(500n, 0n);
      await f.credits.connect(f.verifier).issue(f.projectId, f.night, 0n);
      expect(await f.credits.totalSupply(f.tokenId)).to.equal(0n);
      expect((await f.credits.getProject(f.projectId)).correctionDebtGrams).to.equal(0n);
    });

    it("a revoked period's re-attestation is netted with the corrections recorded before the revocation", async function () {
      const f = await deployAll(connection);
      const projectId = await f.registerProject();
      const day = header({ periodStart: Y2025, periodEnd: Y2025 + DAY / 2n, fossilCo2eGrams: 1_000_000n });
      const dayId = await f.attest(day);
      // a late reading of the day, recorded while the day was unsettled, counts against it
      const late = header({
        periodStart: day.periodStart,
        periodEnd: day.periodStart + 60n,
        correctionOf: dayId,
        fossilCo2eGrams: 1_000n,
      });
      await f.attestCorrection(late, day);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.recordCorrection(late);
      await f.registry.connect(f.verifier).revoke(dayId, "sensor drift");
      const re = header({
        periodStart: day.periodStart,
        periodEnd: day.periodEnd,
        correctionOf: dayId,
        fossilCo2eGrams: 900_000n,
      });
      await f.attestCorrection(re, day);
      await time.increase(CHALLENGE_WINDOW);
      // 1,000 + 900,000 − 500,000 (half a day's baseline) = 401,000 g
      await expect(f.credits.recordCorrection(re))
        .to.emit(f.credits, "ShortfallRecorded")
        .withArgs(dayId, projectId, 401_000n);
      expect((await f.credits.getProject(projectId)).correctionDebtGrams).to.equal(401_000n);
    });

    it("a pending challenge shields a period from recordShortfall only until the resolution period ends", async function () {
      const f = await deployAll(connection);
      const projectId = await f.registerProject();
      const day = header({ periodStart: Y2025, periodEnd: Y2025 + DAY / 2n, fossilCo2eGrams: 1_000_000n });
      const dayId = await f.attest(day);
      // the project's verifier parks its own bad period behind a challenge nobody resolves
      await f.credits.connect(f.verifier).challenge(dayId, "parked", "bafkreipark");
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.recordShortfall(projectId, day))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengePending")
        .withArgs(dayId);
      const resolution = await f.credits.CHALLENGE_RESOLUTION_PERIOD();
      expect(resolution).to.equal(30n * DAY);
      await time.increase(resolution - 5n);
      await expect(f.credits.recordShortfall(projectId, day)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsChallengePending",
      );
      await time.increase(5n);
      // it still backs no credits
      await expect(f.credits.connect(f.verifier).issue(projectId, day, 0n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengePending")
        .withArgs(dayId);
      await expect(f.credits.connect(f.other).recordShortfall(projectId, day))
        .to.emit(f.credits, "ShortfallRecorded")
        .withArgs(dayId, projectId, 500_000n);
      await expect(f.credits.connect(f.arbiter).resolveChallenge(dayId, false, "late"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotChallenged")
        .withArgs(dayId);
    });

    it("a pending challenge of a correction blocks recordCorrection only until the resolution period ends, then its grams are charged", async function () {
      const f = await deployAll(connection);
      const projectId = await f.registerProject();
      const day = header({ periodStart: Y2025, periodEnd: Y2025 + DAY / 2n, fossilCo2eGrams: 100_000n });
      const dayId = await f.attest(day);
      await time.increase(CHALLENGE_WINDOW);
      await f.credits.connect(f.verifier).issue(projectId, day, 400n);
      // late readings of the issued day, parked behind a challenge nobody resolves
      const late = header({
        periodStart: day.periodStart,
        periodEnd: day.periodStart + 60n,
        correctionOf: dayId,
        fossilCo2eGrams: 50_000n,
      });
      const lateId = await f.attestCorrection(late, day);
      await f.credits.connect(f.verifier).challenge(lateId, "parked", "bafkreipark");
      await time.increase(CHALLENGE_WINDOW);
      await expect(f.credits.recordCorrection(late))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengePending")
        .withArgs(lateId);
      const resolution = await f.credits.CHALLENGE_RESOLUTION_PERIOD();
      await time.increase(resolution - 5n);
      await expect(f.credits.recordCorrection(late)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsChallengePending",
      );
      await time.increase(5n);
      await expect(f.credits.connect(f.other).recordCorrection(late))
        .to.emit(f.credits, "CorrectionRecorded")
        .withArgs(lateId, dayId, projectId, 50_000n);
      expect((await f.credits.getProject(projectId)).correctionDebtGrams).to.equal(50_000n);
      // recorded once; the challenge is moot now
      await expect(f.credits.recordCorrection(late)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsAttestationUsed",
      );
      await expect(f.credits.connect(f.arbiter).resolveChallenge(lateId, false, "late"))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNotChallenged")
        .withArgs(lateId);
    });

    it("test_recordShortfall_revertsWhen_atOrBelowBaseline / windowOpen / correction / wrongScope / paused", async function () {
      const f = await networkHelpers.loadFixture(shifts);
      await expect(f.credits.recordShortfall(f.projectId, f.night))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsNoShortfall")
        .withArgs(f.nightId, 500_000n);
      const later = header({ day: 2n, fossilCo2eGrams: 2_000_000n });
      const laterId = await f.attest(later);
      await expect(f.credits.recordShortfall(f.projectId, later)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsChallengeWindowOpen",
      );
      const c = header({
        periodStart: f.day.periodStart,
        periodEnd: f.day.periodEnd,
        correctionOf: f.dayId,
        fossilCo2eGrams: 9n,
      });
      await expect(f.credits.recordShortfall(f.projectId, c))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsCorrectionBacksNoIssuance")
        .withArgs(f.dayId);
      const elsewhere = { ...f.day, facilityId: encodeBytes32String("other-facility") };
      await expect(f.credits.recordShortfall(f.projectId, elsewhere))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsWrongFacility")
        .withArgs(FACILITY, elsewhere.facilityId);
      await f.credits.pause();
      await expect(f.credits.recordShortfall(f.projectId, f.day)).to.be.revertedWithCustomError(
        f.credits,
        "EnforcedPause",
      );
      expect((await f.credits.attestationUse(laterId)).state).to.equal(BigInt(State.None));
    });
  });

  describe("a verifier never mints to itself (review: it could name itself proponent)", function () {
    it("refuses a verifier as proponent at registration, at a hand-over, and at issuance if the role came later", async function () {
      const f = await networkHelpers.loadFixture(attested);
      const p = {
        proponent: f.verifier.address,
        facilityId: FACILITY,
        methodologyId: keccak256(toUtf8Bytes("other")),
        name: "P",
        standard: "S",
        baselineEffectiveFrom: Y2025,
        baselineGramsPerDay: 5n,
        baselineCid: "cid",
      };
      await expect(f.credits.connect(f.verifier).registerProject(p))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsProponentIsVerifier")
        .withArgs(f.verifier.address);
      await expect(f.credits.connect(f.proponent).setProponent(f.projectId, f.verifier.address))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsProponentIsVerifier")
        .withArgs(f.verifier.address);
      // the proponent is made a verifier after registration: the other verifier cannot issue to it
      await f.credits.grantRole(await f.credits.VERIFIER_ROLE(), f.proponent.address);
      await expect(f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsProponentIsVerifier")
        .withArgs(f.proponent.address);
      await f.credits.revokeRole(await f.credits.VERIFIER_ROLE(), f.proponent.address);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 1n);
    });
  });

  describe("metadata and administration", function () {
    it("serves on-chain ERC-1155 metadata JSON for a credit id", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await f.credits.connect(f.verifier).issue(f.projectId, f.headers[0], 400n);
      const uri: string = await f.credits.uri(f.tokenId);
      expect(uri.startsWith("data:application/json;base64,")).to.equal(true);
      const meta = JSON.parse(Buffer.from(uri.split(",")[1], "base64").toString("utf8"));
      expect(meta.name).to.equal("Kangaita biomass boiler 2025");
      expect(meta.decimals).to.equal(0);
      expect(meta.properties).to.deep.include({
        projectId: 1,
        vintage: 2025,
        facilityId: "ktda-kangaita",
        methodologyId: METHODOLOGY,
        standard: "CarbonProof Standard v1",
        baselineCid: "bafkreibaselinejustification",
        issuedKg: 400,
        retiredKg: 0,
        attestations: `https://explorer.carbonproof.local/credits/${f.tokenId}`,
      });
      const info = await f.credits.creditInfo(f.tokenId);
      expect([info.projectId, info.vintage, info.facilityId, info.projectName]).to.deep.equal([
        1n,
        2025n,
        FACILITY,
        "Kangaita biomass boiler",
      ]);
    });

    it("escapes JSON in project texts", async function () {
      const f = await networkHelpers.loadFixture(base);
      await f.credits.connect(f.verifier).registerProject({
        proponent: f.proponent.address,
        facilityId: FACILITY,
        methodologyId: METHODOLOGY,
        name: 'Tea "Estate" \\ 1\n',
        standard: "S",
        baselineEffectiveFrom: Y2025,
        baselineGramsPerDay: 5n,
        baselineCid: "c",
      });
      const uri: string = await f.credits.uri(await f.credits.tokenIdOf(1n, 2025n));
      const meta = JSON.parse(Buffer.from(uri.split(",")[1], "base64").toString("utf8"));
      expect(meta.name).to.equal('Tea "Estate" \\ 1\n 2025');
    });

    it("bounds and announces the challenge window; sets certificates once; explorer URL", async function () {
      const f = await networkHelpers.loadFixture(base);
      await expect(f.credits.setChallengeWindow(7n * DAY))
        .to.emit(f.credits, "ChallengeWindowSet")
        .withArgs(CHALLENGE_WINDOW, 7n * DAY);
      await expect(f.credits.setChallengeWindow(91n * DAY))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengeWindowTooLong")
        .withArgs(91n * DAY);
      await expect(
        f.ethers.deployContract("CarbonCredits", [await f.registry.getAddress(), f.admin.address, 91n * DAY]),
      ).to.be.revertedWithCustomError(f.credits, "CarbonCreditsChallengeWindowTooLong");
      await expect(f.credits.setCertificates(f.other.address)).to.be.revertedWithCustomError(
        f.credits,
        "CarbonCreditsCertificatesAlreadySet",
      );
      await expect(f.credits.setExplorerBaseUrl("https://x"))
        .to.emit(f.credits, "ExplorerBaseUrlSet")
        .withArgs("https://x");
      await expect(f.credits.connect(f.other).setChallengeWindow(1n)).to.be.revertedWithCustomError(
        f.credits,
        "AccessControlUnauthorizedAccount",
      );
    });

    it("lets only the certificates contract burn, and never for 0", async function () {
      const f = await networkHelpers.loadFixture(attested);
      await expect(f.credits.connect(f.proponent).burnForRetirement(f.proponent.address, f.tokenId, 1n))
        .to.be.revertedWithCustomError(f.credits, "CarbonCreditsOnlyCertificates")
        .withArgs(f.proponent.address);
    });

    it("supports ERC-1155, ERC-1155 metadata, AccessControl and ERC-165", async function () {
      const f = await networkHelpers.loadFixture(base);
      for (const id of ["0xd9b67a26", "0x0e89341c", "0x7965db0b", "0x01ffc9a7"]) {
        expect(await f.credits.supportsInterface(id)).to.equal(true);
      }
      expect(await f.credits.supportsInterface("0xffffffff")).to.equal(false);
    });
  });
});
