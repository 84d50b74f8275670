// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC1155} from "@openzeppelin/contracts/token/ERC1155/ERC1155.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC165} from "@openzeppelin/contracts/utils/introspection/IERC165.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IAttestationRegistry} from "../attestation/IAttestationRegistry.sol";
import {IRetirementCertificates} from "../retirement/IRetirementCertificates.sol";
import {CreditMetadata} from "./CreditMetadata.sol";
import {ICarbonCredits} from "./ICarbonCredits.sol";
import {UtcDate} from "./UtcDate.sol";

/**
 * @title CarbonCredits
 * @notice ERC-1155 carbon credits, 1 unit = 1 kg CO2e, one token id per (project, vintage year):
 * `tokenId = projectId << 16 | vintage`. Credits are minted only against attestations of the
 * AttestationRegistry, within the bound
 *
 *     credits (kg) ≤ floor((baseline grams of the period − fossil grams attested − corrections) / 1000)
 *
 * after the attestation's challenge window, once per attestation, by a verifier who did not co-sign
 * it. Credits are retired through RetirementCertificates, the only account that can burn them; it
 * mints a soulbound certificate to the beneficiary. See docs/credits.md for every decision behind this contract.
 */
contract CarbonCredits is ERC1155, AccessControl, Pausable, ICarbonCredits {
    using SafeCast for uint256;

    /// @notice Registers projects, sets baselines, issues credits, challenges attestations.
    bytes32 public constant VERIFIER_ROLE = keccak256("VERIFIER_ROLE");
    /// @notice Challenges attestations during their challenge window.
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    /// @notice Resolves challenges (upheld → the attestation is revoked in the registry).
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");
    /// @notice Pauses and unpauses issuance and correction recording.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Upper bound of the configurable challenge window.
    uint64 public constant MAX_CHALLENGE_WINDOW = 90 days;
    /// @notice How long after its challenge window a pending challenge shields a period from
    /// {recordShortfall}: past it, the period's excess can be charged whether or not an arbiter ruled.
    uint64 public constant CHALLENGE_RESOLUTION_PERIOD = 30 days;
    /// @notice Most baseline segments a project can have: {baselineGrams} reads them one by one.
    uint256 public constant MAX_BASELINE_SEGMENTS = 1000;

    /// @notice What this contract did with an attestation id.
    enum AttestationState {
        None, // not seen (or only named by corrections)
        Challenged, // challenge pending: backs nothing until resolved
        Dismissed, // challenge dismissed: issuable
        Upheld, // challenge upheld: revoked in the registry, backs nothing
        Issued, // backed one issuance
        Correction // a correction batch, recorded against its original
    }

    /**
     * @notice One slot per attestation id. `amount` is: for `Issued`, the kilograms issued; for a
     * `Correction`, its fossil grams; for an attestation not yet issued, the fossil grams of
     * corrections recorded against it (subtracted when it is issued).
     */
    struct AttestationUse {
        AttestationState state;
        uint40 projectId;
        uint128 amount;
    }

    /// @notice A project as issuance reads it (three slots).
    struct Project {
        address proponent; // receives every issuance of the project
        uint64 issuedThrough; // greatest periodEnd issued: baselines change only after it
        bool active;
        uint16 baselineCount; // number of baseline segments
        bytes32 scope; // keccak256(abi.encode(facilityId, methodologyId)): one slot read checks both
        uint128 correctionDebtGrams; // corrections of issued periods, not yet covered
    }

    /// @notice Descriptive project data, read by views and error paths only.
    struct ProjectMeta {
        bytes32 facilityId;
        bytes32 methodologyId;
        string name;
        string standard;
        string baselineCid;
    }

    /// @notice A project as {getProject} returns it.
    struct ProjectView {
        address proponent;
        uint64 issuedThrough;
        bool active;
        uint128 correctionDebtGrams;
        bytes32 facilityId;
        bytes32 methodologyId;
        string name;
        string standard;
        string baselineCid;
    }

    /// @notice From `effectiveFrom` (unix seconds) on, the baseline is `gramsPerDay` g CO2e per 86,400 s.
    struct BaselineSegment {
        uint64 effectiveFrom;
        uint128 gramsPerDay;
    }

    /// @notice Arguments of {registerProject}.
    struct ProjectParams {
        address proponent;
        bytes32 facilityId;
        bytes32 methodologyId;
        string name;
        string standard;
        uint64 baselineEffectiveFrom;
        uint128 baselineGramsPerDay;
        string baselineCid;
    }

    /// @notice Per token id: kilograms issued and retired, and the number of retirements.
    /// Total supply is `issued − retired` by construction.
    struct Supply {
        uint96 issued;
        uint96 retired;
        uint64 retirements;
    }

    /// @notice The attestation registry every issuance is checked against.
    IAttestationRegistry public immutable registry;
    /// @notice Renders `uri` (deployed by the constructor; see CreditMetadata).
    CreditMetadata public immutable metadata;
    /// @notice The soulbound certificates minted on retirement (set once by the admin).
    IRetirementCertificates public certificates;
    /// @notice Seconds after submission during which an attestation can be challenged and backs nothing.
    uint64 public challengeWindow;
    /// @notice Number of registered projects; ids are 1..projectCount.
    uint40 public projectCount;
    /// @notice Base URL of the explorer that lists a credit's attestations (used in `uri`).
    string public explorerBaseUrl;

    mapping(uint40 projectId => Project) private _projects;
    mapping(uint40 projectId => ProjectMeta) private _meta;
    mapping(uint40 projectId => mapping(uint256 index => BaselineSegment)) private _baselines;
    mapping(bytes32 attestationId => AttestationUse) private _uses;
    mapping(uint256 tokenId => Supply) private _supply;
    /// @notice The project of a (facility, methodology) scope: at most one, so no attestation can be
    /// shopped between projects with different baselines.
    mapping(bytes32 scope => uint40 projectId) public projectOfScope;
    /// @notice Who challenged an attestation (zero if never challenged).
    mapping(bytes32 attestationId => address) public challengerOf;

    event ProjectRegistered(
        uint40 indexed projectId,
        bytes32 indexed facilityId,
        bytes32 methodologyId,
        address proponent,
        string name,
        string standard
    );
    event BaselineSet(uint40 indexed projectId, uint64 effectiveFrom, uint128 gramsPerDay, string justificationCid);
    event ProjectProponentChanged(uint40 indexed projectId, address previousProponent, address proponent);
    event ProjectActiveSet(uint40 indexed projectId, bool active);
    event ChallengeWindowSet(uint64 previousWindow, uint64 window);
    event CertificatesSet(address certificates);
    event ExplorerBaseUrlSet(string url);
    event AttestationChallenged(bytes32 indexed attestationId, address indexed challenger, string reason, string evidenceCid);
    event ChallengeResolved(bytes32 indexed attestationId, address indexed arbiter, bool upheld, string note);
    event CreditsIssued(
        uint256 indexed tokenId,
        bytes32 indexed attestationId,
        uint40 indexed projectId,
        address to,
        uint256 amount,
        uint256 boundKg,
        uint256 correctionGramsCovered
    );
    event CorrectionRecorded(
        bytes32 indexed correctionId, bytes32 indexed originalId, uint40 indexed projectId, uint256 fossilCo2eGrams
    );
    /// @notice A period that emitted more than its baseline was settled: its excess is owed by the project.
    event ShortfallRecorded(bytes32 indexed attestationId, uint40 indexed projectId, uint256 excessGrams);

    error CarbonCreditsUnknownProject(uint40 projectId);
    error CarbonCreditsProjectInactive(uint40 projectId);
    error CarbonCreditsInvalidProject();
    error CarbonCreditsScopeTaken(bytes32 facilityId, bytes32 methodologyId, uint40 projectId);
    error CarbonCreditsNotProponent(uint40 projectId, address caller);
    error CarbonCreditsBaselineTooEarly(uint64 effectiveFrom, uint64 notBefore);
    error CarbonCreditsNoBaseline(uint40 projectId, uint64 periodStart);
    error CarbonCreditsWrongFacility(bytes32 expected, bytes32 actual);
    error CarbonCreditsWrongMethodology(bytes32 expected, bytes32 actual);
    error CarbonCreditsCorrectionBacksNoIssuance(bytes32 attestationId);
    error CarbonCreditsNotACorrection(bytes32 attestationId);
    error CarbonCreditsUnknownAttestation(bytes32 attestationId);
    error CarbonCreditsAttestationRevoked(bytes32 attestationId);
    error CarbonCreditsChallengeWindowOpen(bytes32 attestationId, uint256 endsAt);
    error CarbonCreditsChallengeWindowClosed(bytes32 attestationId, uint256 endedAt);
    error CarbonCreditsChallengePending(bytes32 attestationId);
    error CarbonCreditsAttestationUsed(bytes32 attestationId, AttestationState state);
    error CarbonCreditsNotChallenged(bytes32 attestationId);
    error CarbonCreditsSelfResolution(bytes32 attestationId, address arbiter);
    error CarbonCreditsEmptyText();
    error CarbonCreditsSignerCannotIssue(bytes32 attestationId, address issuer);
    error CarbonCreditsInvalidPeriod(uint64 periodStart, uint64 periodEnd);
    error CarbonCreditsPeriodSpansVintages(uint64 periodStart, uint64 periodEnd);
    error CarbonCreditsAmountExceedsBound(uint256 amount, uint256 bound);
    error CarbonCreditsZeroAmount();
    error CarbonCreditsChallengeWindowTooLong(uint64 window);
    error CarbonCreditsCertificatesAlreadySet();
    error CarbonCreditsOnlyCertificates(address caller);
    error CarbonCreditsProponentIsVerifier(address proponent);
    error CarbonCreditsPeriodAboveBaseline(bytes32 attestationId, uint256 excessGrams);
    error CarbonCreditsNoShortfall(bytes32 attestationId, uint256 reductionGrams);
    error CarbonCreditsTooManyBaselineSegments(uint40 projectId, uint256 max);

    /**
     * @param registry_        the AttestationRegistry
     * @param admin            DEFAULT_ADMIN_ROLE holder (grants the other roles)
     * @param challengeWindow_ seconds an attestation stays challengeable before it can back credits
     */
    constructor(IAttestationRegistry registry_, address admin, uint64 challengeWindow_) ERC1155("") {
        if (challengeWindow_ > MAX_CHALLENGE_WINDOW) revert CarbonCreditsChallengeWindowTooLong(challengeWindow_);
        registry = registry_;
        metadata = new CreditMetadata();
        challengeWindow = challengeWindow_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        emit ChallengeWindowSet(0, challengeWindow_);
    }

    // ------------------------------------------------------------------ administration

    /// @notice Sets the certificates contract, once (admin).
    function setCertificates(IRetirementCertificates certificates_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (address(certificates) != address(0)) revert CarbonCreditsCertificatesAlreadySet();
        certificates = certificates_;
        emit CertificatesSet(address(certificates_));
    }

    /// @notice Sets the challenge window (admin); applies to every attestation not yet issued.
    function setChallengeWindow(uint64 window) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (window > MAX_CHALLENGE_WINDOW) revert CarbonCreditsChallengeWindowTooLong(window);
        emit ChallengeWindowSet(challengeWindow, window);
        challengeWindow = window;
    }

    /// @notice Sets the explorer base URL used in `uri` (admin).
    function setExplorerBaseUrl(string calldata url) external onlyRole(DEFAULT_ADMIN_ROLE) {
        explorerBaseUrl = url;
        emit ExplorerBaseUrlSet(url);
    }

    /// @notice Pauses issuance and correction recording (pauser). Transfers and retirements go on.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Resumes issuance (pauser).
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ------------------------------------------------------------------ projects

    /**
     * @notice Registers a project (verifier), one per (facility, methodology). Its first baseline
     * segment starts at `p.baselineEffectiveFrom`; periods before it back nothing.
     * @return projectId the new project's id (sequential from 1)
     */
    function registerProject(ProjectParams calldata p) external onlyRole(VERIFIER_ROLE) returns (uint40 projectId) {
        if (p.proponent == address(0) || p.facilityId == 0) revert CarbonCreditsInvalidProject();
        _notVerifier(p.proponent);
        bytes32 scope = _scope(p.facilityId, p.methodologyId);
        uint40 existing = projectOfScope[scope];
        if (existing != 0) revert CarbonCreditsScopeTaken(p.facilityId, p.methodologyId, existing);
        projectId = ++projectCount;
        projectOfScope[scope] = projectId;
        _projects[projectId] = Project({
            proponent: p.proponent,
            issuedThrough: 0,
            active: true,
            baselineCount: 1,
            scope: scope,
            correctionDebtGrams: 0
        });
        _meta[projectId] = ProjectMeta({
            facilityId: p.facilityId,
            methodologyId: p.methodologyId,
            name: p.name,
            standard: p.standard,
            baselineCid: p.baselineCid
        });
        _baselines[projectId][0] = BaselineSegment(p.baselineEffectiveFrom, p.baselineGramsPerDay);
        emit ProjectRegistered(projectId, p.facilityId, p.methodologyId, p.proponent, p.name, p.standard);
        emit BaselineSet(projectId, p.baselineEffectiveFrom, p.baselineGramsPerDay, p.baselineCid);
    }

    /**
     * @notice Changes a project's baseline from `effectiveFrom` on (verifier). It must start after
     * the previous segment and at or after the end of every period already issued, so it applies
     * only to periods not yet issued. A project has at most {MAX_BASELINE_SEGMENTS} segments
     * (`CarbonCreditsTooManyBaselineSegments`): segments are never removed, and every issuance
     * reads those its period needs, so an unbounded list could make issuance cost more than a block.
     */
    function setBaseline(uint40 projectId, uint64 effectiveFrom, uint128 gramsPerDay, string calldata justificationCid)
        external
        onlyRole(VERIFIER_ROLE)
    {
        Project storage p = _project(projectId);
        uint16 n = p.baselineCount;
        if (n >= MAX_BASELINE_SEGMENTS) {
            revert CarbonCreditsTooManyBaselineSegments(projectId, MAX_BASELINE_SEGMENTS);
        }
        uint64 notBefore = _baselines[projectId][n - 1].effectiveFrom + 1;
        if (p.issuedThrough > notBefore) notBefore = p.issuedThrough;
        if (effectiveFrom < notBefore) revert CarbonCreditsBaselineTooEarly(effectiveFrom, notBefore);
        _baselines[projectId][n] = BaselineSegment(effectiveFrom, gramsPerDay);
        p.baselineCount = n + 1;
        _meta[projectId].baselineCid = justificationCid;
        emit BaselineSet(projectId, effectiveFrom, gramsPerDay, justificationCid);
    }

    /// @notice Hands the project (future issuances) to another account (current proponent only).
    function setProponent(uint40 projectId, address proponent) external {
        Project storage p = _project(projectId);
        if (msg.sender != p.proponent) revert CarbonCreditsNotProponent(projectId, msg.sender);
        if (proponent == address(0)) revert CarbonCreditsInvalidProject();
        _notVerifier(proponent);
        emit ProjectProponentChanged(projectId, p.proponent, proponent);
        p.proponent = proponent;
    }

    /// @notice Suspends or resumes issuance for a project (verifier).
    function setProjectActive(uint40 projectId, bool active) external onlyRole(VERIFIER_ROLE) {
        _project(projectId).active = active;
        emit ProjectActiveSet(projectId, active);
    }

    // ------------------------------------------------------------------ challenges

    /**
     * @notice Challenges attestation `attestationId` during its challenge window (verifier or
     * auditor). Until an arbiter resolves the challenge the attestation backs nothing.
     * @param reason      what is wrong, in words
     * @param evidenceCid IPFS CID of the evidence
     */
    function challenge(bytes32 attestationId, string calldata reason, string calldata evidenceCid) external {
        if (!hasRole(AUDITOR_ROLE, msg.sender) && !hasRole(VERIFIER_ROLE, msg.sender)) {
            revert AccessControlUnauthorizedAccount(msg.sender, AUDITOR_ROLE);
        }
        if (bytes(reason).length == 0 || bytes(evidenceCid).length == 0) revert CarbonCreditsEmptyText();
        if (!registry.exists(attestationId)) revert CarbonCreditsUnknownAttestation(attestationId);
        if (registry.isRevoked(attestationId)) revert CarbonCreditsAttestationRevoked(attestationId);
        uint256 endsAt = uint256(registry.getAttestation(attestationId).submittedAt) + challengeWindow;
        if (block.timestamp >= endsAt) revert CarbonCreditsChallengeWindowClosed(attestationId, endsAt);
        AttestationUse storage use = _uses[attestationId];
        if (use.state != AttestationState.None) revert CarbonCreditsAttestationUsed(attestationId, use.state);
        use.state = AttestationState.Challenged;
        challengerOf[attestationId] = msg.sender;
        emit AttestationChallenged(attestationId, msg.sender, reason, evidenceCid);
    }

    /**
     * @notice Resolves a pending challenge (arbiter, not the challenger). Upheld: the attestation is
     * revoked in the registry (this contract holds the registry's verifier role for that) and never
     * backs credits. Dismissed: it is issuable (and cannot be challenged again).
     */
    function resolveChallenge(bytes32 attestationId, bool upheld, string calldata note)
        external
        onlyRole(ARBITER_ROLE)
    {
        AttestationUse storage use = _uses[attestationId];
        if (use.state != AttestationState.Challenged) revert CarbonCreditsNotChallenged(attestationId);
        if (challengerOf[attestationId] == msg.sender) revert CarbonCreditsSelfResolution(attestationId, msg.sender);
        use.state = upheld ? AttestationState.Upheld : AttestationState.Dismissed;
        emit ChallengeResolved(attestationId, msg.sender, upheld, note);
        if (upheld && !registry.isRevoked(attestationId)) registry.revoke(attestationId, note);
    }

    // ------------------------------------------------------------------ issuance

    /**
     * @notice Issues `amount` kg of credits of project `projectId` backed by the attestation whose
     * header is `header`, to the project's proponent (verifier; not a co-signer of the attestation).
     * The token id is (project, UTC year of `header.periodStart`); the period must lie in that year.
     * Corrections recorded against the project (or this attestation) are covered first; an issuance
     * whose whole reduction goes to such corrections may have `amount` 0.
     * @return tokenId       the credit token id
     * @return attestationId the EIP-712 id of `header`
     */
    function issue(uint40 projectId, IAttestationRegistry.BatchHeader calldata header, uint256 amount)
        external
        whenNotPaused
        onlyRole(VERIFIER_ROLE)
        returns (uint256 tokenId, bytes32 attestationId)
    {
        Project storage p = _project(projectId);
        if (!p.active) revert CarbonCreditsProjectInactive(projectId);
        uint256 emitted;
        uint256 baseline;
        (attestationId, emitted, baseline) = _unsettled(projectId, p, header, false);
        if (registry.wasSignedBy(attestationId, msg.sender)) {
            revert CarbonCreditsSignerCannotIssue(attestationId, msg.sender);
        }
        // a role granted after registration: the verifier would mint to itself
        _notVerifier(p.proponent);
        tokenId = tokenIdOf(projectId, _vintageOf(header.periodStart, header.periodEnd));

        if (emitted > baseline) revert CarbonCreditsPeriodAboveBaseline(attestationId, emitted - baseline);
        uint256 pendingCorrectionGrams = emitted - header.fossilCo2eGrams;
        uint256 reduction = baseline - emitted;
        uint256 debt = p.correctionDebtGrams;
        uint256 covered = debt < reduction ? debt : reduction;
        uint256 bound = (reduction - covered) / 1000;
        if (amount > bound) revert CarbonCreditsAmountExceedsBound(amount, bound);
        if (amount == 0 && covered == 0) revert CarbonCreditsZeroAmount();

        if (covered != 0) p.correctionDebtGrams = uint128(debt - covered);
        if (header.periodEnd > p.issuedThrough) p.issuedThrough = header.periodEnd;
        _uses[attestationId] = AttestationUse(AttestationState.Issued, projectId, amount.toUint128());

        address to = p.proponent;
        if (amount != 0) _mint(to, tokenId, amount, "");
        emit CreditsIssued(tokenId, attestationId, projectId, to, amount, bound, covered + pendingCorrectionGrams);
    }

    /**
     * @notice Records a correction batch (anyone, once its challenge window has passed). Its fossil
     * grams are charged to the project that issued the corrected period (covered before any further
     * credit of that project) or, if the period is not issued yet, to the corrected attestation itself.
     * A revoked (or upheld) period is re-attested by its corrections: the first one recorded settles
     * it, charging max(0, grams recorded against it − baseline of the correction's period) to the
     * project of the correction's facility and methodology (`ShortfallRecorded`); later ones are
     * charged in full, as for any settled period. So revoking a period above its baseline never
     * erases its excess. A pending challenge of the correction blocks it only until
     * {CHALLENGE_RESOLUTION_PERIOD} after its challenge window, as for {recordShortfall}: a
     * correction parked behind a challenge no arbiter resolves would never charge its grams.
     * @return correctionId the correction's attestation id
     */
    function recordCorrection(IAttestationRegistry.BatchHeader calldata correction)
        external
        whenNotPaused
        returns (bytes32 correctionId)
    {
        bytes32 originalId = correction.correctionOf;
        uint256 endsAt;
        (correctionId, endsAt) = _checkedAttestation(correction);
        if (originalId == 0) revert CarbonCreditsNotACorrection(correctionId);
        AttestationUse storage use = _uses[correctionId];
        bool lapsed =
            use.state == AttestationState.Challenged && block.timestamp >= endsAt + CHALLENGE_RESOLUTION_PERIOD;
        if (!lapsed) _usableState(correctionId, use);
        if (!registry.exists(originalId)) revert CarbonCreditsUnknownAttestation(originalId);

        uint128 grams = correction.fossilCo2eGrams;
        AttestationUse storage original = _uses[originalId];
        uint40 projectId;
        if (original.state == AttestationState.Issued) {
            projectId = original.projectId;
            _projects[projectId].correctionDebtGrams += grams;
        } else {
            // the corrected period is not settled yet: its issuance or settlement covers the grams
            original.amount += grams;
        }
        _uses[correctionId] = AttestationUse(AttestationState.Correction, projectId, grams);
        emit CorrectionRecorded(correctionId, originalId, projectId, grams);
        if (projectId == 0 && registry.isRevoked(originalId)) _settleRevoked(originalId, original, correction);
    }

    /// @dev Settles revoked period `originalId`, re-attested by `correction`: its emissions are the
    /// grams of the corrections recorded against it (the revoked header's count for nothing). The
    /// baseline is the correction's period's, never more than the revoked period's, so a period
    /// re-attested in parts is over-charged rather than under-charged. A facility and methodology
    /// without a project, or a period before the project's first baseline, is left unsettled.
    function _settleRevoked(
        bytes32 originalId,
        AttestationUse storage original,
        IAttestationRegistry.BatchHeader calldata correction
    ) private {
        uint40 projectId = projectOfScope[_scope(correction.facilityId, correction.methodologyId)];
        if (projectId == 0 || correction.periodStart < _baselines[projectId][0].effectiveFrom) return;
        Project storage p = _projects[projectId];
        uint256 baseline = _baselineGrams(projectId, p.baselineCount, correction.periodStart, correction.periodEnd);
        uint256 emitted = original.amount;
        _settle(originalId, projectId, p, emitted > baseline ? emitted - baseline : 0, correction.periodEnd);
    }

    /**
     * @notice Settles an attestation of project `projectId` whose period emitted more than its
     * baseline (anyone, once its challenge window has passed, while it is unused): the excess
     * grams are owed by the project and covered before any further credit of it, as a correction
     * is. Without this, a verifier could issue the periods below the baseline and leave the others
     * unissued, crediting more than the project's net reduction. Reverts
     * `CarbonCreditsNoShortfall` for a period at or below its baseline (that one is issued). A
     * pending challenge shields the period only until {CHALLENGE_RESOLUTION_PERIOD} after its
     * challenge window: a challenge no arbiter resolves cannot hide a period's excess for ever.
     * @return attestationId the EIP-712 id of `header`
     * @return excessGrams   the grams charged to the project
     */
    function recordShortfall(uint40 projectId, IAttestationRegistry.BatchHeader calldata header)
        external
        whenNotPaused
        returns (bytes32 attestationId, uint256 excessGrams)
    {
        Project storage p = _project(projectId);
        uint256 emitted;
        uint256 baseline;
        (attestationId, emitted, baseline) = _unsettled(projectId, p, header, true);
        if (emitted <= baseline) revert CarbonCreditsNoShortfall(attestationId, baseline - emitted);
        excessGrams = emitted - baseline;
        _settle(attestationId, projectId, p, excessGrams, header.periodEnd);
    }

    /// @dev Settles period `attestationId` (ending at `periodEnd`): its `excessGrams` are owed by
    /// project `projectId` (shared by recordShortfall and the settlement of a revoked period).
    function _settle(bytes32 attestationId, uint40 projectId, Project storage p, uint256 excessGrams, uint64 periodEnd)
        private
    {
        p.correctionDebtGrams = (uint256(p.correctionDebtGrams) + excessGrams).toUint128();
        if (periodEnd > p.issuedThrough) p.issuedThrough = periodEnd;
        // settled: it backs nothing, and a later correction of it is charged to the project
        _uses[attestationId] = AttestationUse(AttestationState.Issued, projectId, 0);
        emit ShortfallRecorded(attestationId, projectId, excessGrams);
    }

    // ------------------------------------------------------------------ retirement

    /// @inheritdoc ICarbonCredits
    function burnForRetirement(address holder, uint256 tokenId, uint256 amount)
        external
        returns (uint256 certificateId)
    {
        if (msg.sender != address(certificates)) revert CarbonCreditsOnlyCertificates(msg.sender);
        if (amount == 0) revert CarbonCreditsZeroAmount();
        _burn(holder, tokenId, amount);
        return (tokenId << 64) | _supply[tokenId].retirements;
    }

    // ------------------------------------------------------------------ views

    /// @notice Token id of (project, vintage year).
    function tokenIdOf(uint40 projectId, uint256 vintage) public pure returns (uint256) {
        return (uint256(projectId) << 16) | uint16(vintage);
    }

    /// @notice Inverse of {tokenIdOf}.
    function decodeTokenId(uint256 tokenId) public pure returns (uint40 projectId, uint16 vintage) {
        return (uint40(tokenId >> 16), uint16(tokenId));
    }

    /// @notice Baseline grams of project `projectId` over `[periodStart, periodEnd)`: Σ gramsPerDay ×
    /// seconds / 86,400 over the baseline segments, floored once. Reverts if the period starts before
    /// the first segment.
    function baselineGrams(uint40 projectId, uint64 periodStart, uint64 periodEnd) public view returns (uint256) {
        return _baselineGrams(projectId, _project(projectId).baselineCount, periodStart, periodEnd);
    }

    function _baselineGrams(uint40 projectId, uint256 count, uint64 periodStart, uint64 periodEnd)
        private
        view
        returns (uint256)
    {
        if (periodEnd <= periodStart) revert CarbonCreditsInvalidPeriod(periodStart, periodEnd);
        mapping(uint256 => BaselineSegment) storage segs = _baselines[projectId];
        uint256 gramSeconds;
        uint256 hi = periodEnd;
        for (uint256 i = count; i > 0;) {
            BaselineSegment memory s = segs[--i];
            if (s.effectiveFrom < hi) {
                uint256 lo = s.effectiveFrom > periodStart ? s.effectiveFrom : periodStart;
                gramSeconds += uint256(s.gramsPerDay) * (hi - lo);
                if (lo == periodStart) return gramSeconds / 1 days;
                hi = lo;
            }
        }
        revert CarbonCreditsNoBaseline(projectId, periodStart);
    }

    /// @notice The issuance bound in kg for `header` under project `projectId` today (same arithmetic
    /// as {issue}, without the registry checks): 0 for an attestation that cannot be issued because
    /// of what this contract recorded (issued or settled, a correction, challenged, upheld).
    function issuanceBound(uint40 projectId, IAttestationRegistry.BatchHeader calldata header)
        external
        view
        returns (uint256)
    {
        Project storage p = _project(projectId);
        AttestationUse storage use = _uses[registry.attestationIdOf(header)];
        // only an unused attestation's `amount` is grams (of corrections); an issued one's is kg
        if (use.state != AttestationState.None && use.state != AttestationState.Dismissed) return 0;
        uint256 emitted = uint256(header.fossilCo2eGrams) + use.amount;
        uint256 baseline = _baselineGrams(projectId, p.baselineCount, header.periodStart, header.periodEnd);
        uint256 reduction = baseline > emitted ? baseline - emitted : 0;
        uint256 debt = p.correctionDebtGrams;
        return (reduction - (debt < reduction ? debt : reduction)) / 1000;
    }

    /// @notice Project `projectId` (reverts if unknown).
    function getProject(uint40 projectId) external view returns (ProjectView memory v) {
        Project storage p = _project(projectId);
        ProjectMeta storage m = _meta[projectId];
        v.proponent = p.proponent;
        v.issuedThrough = p.issuedThrough;
        v.active = p.active;
        v.correctionDebtGrams = p.correctionDebtGrams;
        v.facilityId = m.facilityId;
        v.methodologyId = m.methodologyId;
        v.name = m.name;
        v.standard = m.standard;
        v.baselineCid = m.baselineCid;
    }

    /// @notice All baseline segments of a project, oldest first.
    function getBaselines(uint40 projectId) external view returns (BaselineSegment[] memory segs) {
        uint256 n = _project(projectId).baselineCount;
        segs = new BaselineSegment[](n);
        for (uint256 i; i < n; ++i) segs[i] = _baselines[projectId][i];
    }

    /// @notice What this contract did with attestation `attestationId` (see {AttestationUse}).
    function attestationUse(bytes32 attestationId) external view returns (AttestationUse memory) {
        return _uses[attestationId];
    }

    /// @notice Credits in circulation: issued − retired.
    function totalSupply(uint256 tokenId) public view returns (uint256) {
        Supply memory s = _supply[tokenId];
        return s.issued - s.retired;
    }

    /// @notice Issued, retired and number of retirements of `tokenId`.
    function supplyOf(uint256 tokenId) external view returns (Supply memory) {
        return _supply[tokenId];
    }

    /// @inheritdoc ICarbonCredits
    function creditInfo(uint256 tokenId)
        external
        view
        returns (uint40 projectId, uint16 vintage, bytes32 facilityId, bytes32 methodologyId, string memory projectName)
    {
        (projectId, vintage) = decodeTokenId(tokenId);
        ProjectMeta storage m = _meta[projectId];
        return (projectId, vintage, m.facilityId, m.methodologyId, m.name);
    }

    /// @notice ERC-1155 metadata of credit `tokenId`, on-chain: `data:application/json;base64,…`.
    function uri(uint256 tokenId) public view override returns (string memory) {
        (uint40 projectId, uint16 vintage) = decodeTokenId(tokenId);
        ProjectMeta storage m = _meta[projectId];
        Supply memory s = _supply[tokenId];
        return metadata.uri(
            CreditMetadata.View({
                tokenId: tokenId,
                projectId: projectId,
                vintage: vintage,
                facilityId: m.facilityId,
                methodologyId: m.methodologyId,
                projectName: m.name,
                standard: m.standard,
                baselineCid: m.baselineCid,
                issuedKg: s.issued,
                retiredKg: s.retired,
                explorerBaseUrl: explorerBaseUrl
            })
        );
    }

    /// @inheritdoc ERC1155
    function supportsInterface(bytes4 interfaceId)
        public
        view
        override(ERC1155, AccessControl, IERC165)
        returns (bool)
    {
        return super.supportsInterface(interfaceId);
    }

    // ------------------------------------------------------------------ internals

    function _project(uint40 projectId) private view returns (Project storage p) {
        p = _projects[projectId];
        if (p.proponent == address(0)) revert CarbonCreditsUnknownProject(projectId);
    }

    function _scope(bytes32 facilityId, bytes32 methodologyId) private pure returns (bytes32) {
        return keccak256(abi.encode(facilityId, methodologyId));
    }

    function _revertWrongScope(uint40 projectId, IAttestationRegistry.BatchHeader calldata header) private view {
        ProjectMeta storage m = _meta[projectId];
        if (header.facilityId != m.facilityId) revert CarbonCreditsWrongFacility(m.facilityId, header.facilityId);
        revert CarbonCreditsWrongMethodology(m.methodologyId, header.methodologyId);
    }

    /// @dev Registry checks shared by issuance and corrections: the header is the attestation's,
    /// it exists, is not revoked, and its challenge window (which ended at `endsAt`) is over.
    function _checkedAttestation(IAttestationRegistry.BatchHeader calldata header)
        private
        view
        returns (bytes32 id, uint256 endsAt)
    {
        id = registry.attestationIdOf(header);
        if (!registry.exists(id)) revert CarbonCreditsUnknownAttestation(id);
        if (registry.isRevoked(id)) revert CarbonCreditsAttestationRevoked(id);
        endsAt = uint256(registry.getAttestation(id).submittedAt) + challengeWindow;
        if (block.timestamp < endsAt) revert CarbonCreditsChallengeWindowOpen(id, endsAt);
    }

    /// @dev A proponent never holds the verifier role: a verifier would mint to itself.
    function _notVerifier(address proponent) private view {
        if (hasRole(VERIFIER_ROLE, proponent)) revert CarbonCreditsProponentIsVerifier(proponent);
    }

    /// @dev Checks shared by `issue` and `recordShortfall`: a regular attestation of the project's
    /// facility and methodology, its challenge window over, not used. Returns its id, the grams it
    /// emitted (with corrections recorded against it while unissued) and its period's baseline.
    /// `settling` (recordShortfall): a challenge pending {CHALLENGE_RESOLUTION_PERIOD} after the
    /// window no longer blocks.
    function _unsettled(
        uint40 projectId,
        Project storage p,
        IAttestationRegistry.BatchHeader calldata header,
        bool settling
    ) private view returns (bytes32 id, uint256 emitted, uint256 baseline) {
        if (header.correctionOf != 0) revert CarbonCreditsCorrectionBacksNoIssuance(header.correctionOf);
        if (_scope(header.facilityId, header.methodologyId) != p.scope) _revertWrongScope(projectId, header);
        uint256 endsAt;
        (id, endsAt) = _checkedAttestation(header);
        AttestationUse storage use = _uses[id];
        bool lapsed = settling && use.state == AttestationState.Challenged
            && block.timestamp >= endsAt + CHALLENGE_RESOLUTION_PERIOD;
        emitted = uint256(header.fossilCo2eGrams) + (lapsed ? use.amount : _usableState(id, use));
        baseline = _baselineGrams(projectId, p.baselineCount, header.periodStart, header.periodEnd);
    }

    /// @dev Reverts unless the attestation is unused and not under challenge; returns the correction
    /// grams recorded against it while unissued.
    function _usableState(bytes32 id, AttestationUse storage use) private view returns (uint256 pendingGrams) {
        AttestationState state = use.state;
        if (state == AttestationState.Challenged) revert CarbonCreditsChallengePending(id);
        if (state != AttestationState.None && state != AttestationState.Dismissed) {
            revert CarbonCreditsAttestationUsed(id, state);
        }
        return use.amount;
    }

    function _vintageOf(uint64 periodStart, uint64 periodEnd) private pure returns (uint256 year) {
        if (periodEnd <= periodStart) revert CarbonCreditsInvalidPeriod(periodStart, periodEnd);
        year = UtcDate.yearOf(periodStart);
        if (periodEnd > UtcDate.startOfYear(year + 1)) revert CarbonCreditsPeriodSpansVintages(periodStart, periodEnd);
    }

    /// @dev Keeps issued/retired per id: mints are issuances, burns are retirements (the only burn path).
    function _update(address from, address to, uint256[] memory ids, uint256[] memory values) internal override {
        super._update(from, to, ids, values);
        if (from == address(0)) {
            for (uint256 i; i < ids.length; ++i) {
                Supply storage s = _supply[ids[i]];
                s.issued = (uint256(s.issued) + values[i]).toUint96();
            }
        } else if (to == address(0)) {
            for (uint256 i; i < ids.length; ++i) {
                Supply storage s = _supply[ids[i]];
                s.retired += uint96(values[i]); // ≤ issued: the burn succeeded
                s.retirements += 1;
            }
        }
    }
}
