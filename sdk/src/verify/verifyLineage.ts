import { BaseError, ContractFunctionRevertedError, isAddressEqual, type Address, type Hex } from "viem";
import type { LinkCheck } from "../bundle/check.ts";
import type { Envelope } from "../reading/schema.ts";
import { attestationRegistryAbi, carbonCreditsAbi, marketplaceAbi, retirementCertificatesAbi } from "./abi.ts";
import { concurrencyOf, createVerifyCache, memo, type VerifyCache } from "./cache.ts";
import { bundleCidAsync, decodeBundle } from "../bundle/bundle.ts";
import { SdkError } from "../errors.ts";
import { bytes32ToId, idToBytes32 } from "../ids.ts";
import type { BundleSource } from "./sources.ts";
import { walkEvents } from "./walkEvents.ts";
import { projectShortfalls } from "./shortfalls.ts";
import {
  bundleReadingKeys,
  findSubmissions,
  getHashedBytes,
  verifyAttestation,
  type VerifyEvidence,
  type VerifyOptions,
  type VerifyReport,
} from "./verifyAttestation.ts";

/** Where a walk starts: a retirement certificate, a credit (token id), an attestation, or a signed reading. */
export type LineageTarget =
  | { certificateId: bigint }
  | { tokenId: bigint }
  | { attestationId: Hex }
  | { envelope: Envelope }
  /** A reading digest: the attestation whose bundle holds it is looked up (newest first). */
  | { readingDigest: Hex }
  /** Bundle bytes someone holds (a dropped file): checked against the attestation that names their CID. */
  | { bundleBytes: Uint8Array; name: string };

/** One step of the lineage and the links checked there, in order. */
export type LineageSection = {
  /** Stable key: "retirement", "purchase", "credit", "attestation:<id>", "reading". */
  key: string;
  kind: "retirement" | "purchase" | "credit" | "attestation";
  title: string;
  checks: LinkCheck[];
  /** True once every link of the section is decided. */
  done: boolean;
  /** The attestation of an attestation section (null when the reading's attestation was not found). */
  attestationId?: Hex | null;
  /** The credit of the walk (set on the retirement and credit sections once known). */
  tokenId?: bigint;
  /** What an attestation section's verification looked at (header, tx, bundle size, first readings). */
  evidence?: VerifyEvidence;
};

export type LineageReport = {
  sections: LineageSection[];
  /** No link FAILs (SKIPs do not fail). Meaningful when `done`. */
  ok: boolean;
  done: boolean;
};

export type LineageOptions = Omit<VerifyOptions, "target" | "onCheck" | "cache"> & {
  target: LineageTarget;
  /** CarbonCredits (credit and certificate walks). */
  credits?: Address;
  /** RetirementCertificates (certificate walks). */
  certificates?: Address;
  /** Marketplace: the purchase link of a certificate walk; without it that link is a SKIP. */
  marketplace?: Address;
  /** Called after every decided link with the whole report so far (a page re-renders its rows). */
  onProgress?: (report: LineageReport) => void;
  /** How many attestations are verified at once (default 4). */
  concurrency?: number;
  cache?: VerifyCache;
};

const pass = (link: string, detail: string): LinkCheck => ({ link, ok: true, detail });
const fail = (link: string, detail: string): LinkCheck => ({ link, ok: false, detail });
const skip = (link: string, detail: string): LinkCheck => ({ link, ok: true, skipped: true, detail });

function reverted(error: unknown): error is BaseError {
  return error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
}

type Certificate = {
  creditId: bigint;
  amount: bigint;
  beneficiary: Address;
  retiree: Address;
  beneficiaryName: string;
  reason: string;
};

/**
 * The lineage of a credit, walked back from a retirement certificate, a credit, an attestation
 * or a signed reading: retirement → purchase → issuance → attestations → bundle → readings →
 * devices and their keys. Every link is checked from the chain and the bundle bytes alone (the
 * attestation links are exactly {@link verifyAttestation}'s, the same code as `carbonproof
 * verify`). Attestations are verified concurrently, sharing one cache; `onProgress` reports each
 * decided link, so a page fills its rows in as they finish.
 */
export async function verifyLineage(o: LineageOptions): Promise<LineageReport> {
  const concurrency = concurrencyOf(o.concurrency, 4);
  const cache = o.cache ?? createVerifyCache();
  const sections: LineageSection[] = [];
  const report = (): LineageReport => {
    const done = sections.every((s) => s.done);
    return {
      sections: sections.map((s) => ({ ...s, checks: [...s.checks] })),
      ok: sections.every((s) => s.checks.every((c) => c.ok)),
      done,
    };
  };
  const progress = () => o.onProgress?.(report());
  const open = (section: Omit<LineageSection, "checks" | "done">): LineageSection => {
    const s: LineageSection = { ...section, checks: [], done: false };
    sections.push(s);
    return s;
  };
  const add = (s: LineageSection, c: LinkCheck) => {
    s.checks.push(c);
    progress();
  };
  const close = (s: LineageSection) => {
    s.done = true;
    progress();
  };
  const base: Omit<VerifyOptions, "target"> = { ...o, cache };

  const attest = async (
    target: VerifyOptions["target"],
    section: LineageSection,
    source: BundleSource = o.source,
  ): Promise<VerifyReport> => {
    const r = await verifyAttestation({ ...base, source, target, onCheck: (c) => add(section, c) });
    section.attestationId = r.attestationId;
    if (r.evidence) section.evidence = r.evidence;
    if (r.attestationId) section.title = `Attestation ${r.attestationId}`;
    close(section);
    return r;
  };

  const t = o.target;
  if ("attestationId" in t) {
    await attest(
      t,
      open({ key: `attestation:${t.attestationId}`, kind: "attestation", title: `Attestation ${t.attestationId}` }),
    );
    return finish(report());
  }
  if ("envelope" in t) {
    await attest(t, open({ key: "reading", kind: "attestation", title: "Attestation holding the reading" }));
    return finish(report());
  }
  if ("readingDigest" in t) {
    const s = open({ key: "reading", kind: "attestation", title: `Attestation holding reading ${t.readingDigest}` });
    const found = await findReading(base, cache, t.readingDigest);
    if (typeof found === "string") {
      add(s, fail("reading attested", found));
      close(s);
      return finish(report());
    }
    await attest({ envelope: found }, s);
    return finish(report());
  }
  if ("bundleBytes" in t) {
    const s = open({ key: "bundle", kind: "attestation", title: `Attestation of ${t.name}` });
    const found = await findBundleAttestation(base, t.bundleBytes, t.name);
    if (typeof found === "string") {
      add(s, fail("bundle attested", found));
      close(s);
      return finish(report());
    }
    // The dropped bytes stand for the attestation's own bundle; the facility's other bundles
    // (no-double-attestation link) come from the configured source.
    const dropped: BundleSource = {
      describe: `file ${t.name}`,
      byCid: o.source.byCid,
      get: async (cid) => (cid === found.header.bundleCid ? t.bundleBytes : o.source.get(cid)),
    };
    const own = createVerifyCache();
    await verifyAttestation({
      ...base,
      cache: own,
      source: dropped,
      target: { attestationId: found.id },
      onCheck: (c) => add(s, c),
    }).then((r) => {
      s.attestationId = r.attestationId;
      if (r.evidence) s.evidence = r.evidence;
      if (r.attestationId) s.title = `Attestation ${r.attestationId}`;
    });
    close(s);
    return finish(report());
  }

  let tokenId: bigint;
  let retirement: { certificateId: bigint; certificate: Certificate } | undefined;
  if ("certificateId" in t) {
    const s = open({ key: "retirement", kind: "retirement", title: `Retirement certificate ${t.certificateId}` });
    const certificate = await readCertificate(o, t.certificateId);
    if (typeof certificate === "string") {
      add(s, fail("retirement certificate", certificate));
      close(s);
      return finish(report());
    }
    tokenId = certificate.creditId;
    s.tokenId = tokenId;
    add(
      s,
      pass(
        "retirement certificate",
        `${t.certificateId}: ${certificate.amount} kg of credit ${certificate.creditId} retired for ${certificate.beneficiaryName || certificate.beneficiary} (${certificate.reason})`,
      ),
    );
    close(s);
    retirement = { certificateId: t.certificateId, certificate };
  } else {
    tokenId = t.tokenId;
  }

  const creditSection = open({ key: "credit", kind: "credit", title: `Credit ${tokenId}`, tokenId });
  const purchaseSection = retirement
    ? open({ key: "purchase", kind: "purchase", title: "Purchase: how the retired credits reached the retiree" })
    : undefined;
  // Sections render in walk order: retirement, purchase, credit, attestations.
  if (purchaseSection) {
    sections.splice(sections.indexOf(purchaseSection), 1);
    sections.splice(sections.indexOf(creditSection), 0, purchaseSection);
  }
  const purchase = purchaseSection
    ? checkPurchase(
        { ...o, credits: o.credits ?? (await creditsOf(o)) },
        retirement!.certificateId,
        retirement!.certificate,
      ).then((checks) => {
        for (const c of checks) add(purchaseSection, c);
        close(purchaseSection);
      })
    : Promise.resolve();

  const credits = o.credits ?? (retirement ? await creditsOf(o) : undefined);
  if (!credits) {
    add(creditSection, fail("credit issued", "no CarbonCredits address given: issuances unknown"));
    close(creditSection);
    await purchase;
    return finish(report());
  }
  const logs = await walkEvents(base, {
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    args: { tokenId },
  });
  if (logs.length === 0) {
    add(creditSection, fail("credit issued", `no CreditsIssued for token ${tokenId} at ${credits}`));
    close(creditSection);
    await purchase;
    return finish(report());
  }
  const issuances: Issuance[] = logs.map((log) => {
    const args = log.args as { attestationId: Hex; amount: bigint; boundKg: bigint; projectId: number };
    return { ...args, txHash: log.transactionHash as Hex };
  });
  const attestationSections = issuances.map((i) =>
    open({ key: `attestation:${i.attestationId}`, kind: "attestation", title: `Attestation ${i.attestationId}` }),
  );
  const issuanceChecks = (async () => {
    // Per issuance: the amount within what the attested header and the project's baseline allow,
    // the project of the attestation's facility and methodology, and the issuer not a co-signer.
    add(creditSection, await sameRegistry(o.client, credits, o.registry));
    const txs = await Promise.all(issuances.map((i) => o.client.getTransaction({ hash: i.txHash })));
    const signed = await Promise.all(
      issuances.map((i, k) =>
        o.client.readContract({
          address: o.registry,
          abi: attestationRegistryAbi,
          functionName: "wasSignedBy",
          args: [i.attestationId, txs[k]!.from],
        }),
      ),
    );
    const bounds = await Promise.all(
      issuances.map((i) => issuanceWithinBaseline({ ...base, cache }, credits, tokenId, i)),
    );
    issuances.forEach((i, k) => {
      for (const check of bounds[k]!) add(creditSection, check);
      const from = txs[k]!.from;
      add(
        creditSection,
        signed[k]
          ? fail("issuer did not co-sign the attestation", `${from} issued and co-signed ${i.attestationId}`)
          : pass("issuer did not co-sign the attestation", `${from} is not among the signers of ${i.attestationId}`),
      );
    });
    for (const check of await shortfallsSettled(issuances[0]!.projectId)) add(creditSection, check);
    close(creditSection);
  })();

  /**
   * Whether every period of the project's facility that emitted more than its baseline was
   * recorded (`recordShortfall`), so that its excess is owed by the project: credits never exceed
   * the net reduction only if so (docs/credits.md). Each regular attestation of the facility is
   * asked by a call of `recordShortfall` that changes nothing (eth_call): it succeeds exactly for
   * a period above its baseline, its challenge window over, not yet settled.
   */
  async function shortfallsSettled(projectId: number): Promise<LinkCheck[]> {
    const link = `periods above the baseline recorded (project ${projectId})`;
    const linkCorrections = `corrections recorded (project ${projectId})`;
    const r = await projectShortfalls({
      client: o.client,
      registry: o.registry,
      credits: credits!,
      projectId,
      fromBlock: o.fromBlock,
      logRangeBlocks: o.logRangeBlocks,
      eventSettings: o.eventSettings,
      concurrency: o.concurrency,
      cache,
    });
    const unaskedShortfalls = r.unasked.filter((u) => !r.unaskedCorrections.includes(u));
    const unasked = (what: string, list: string[]) =>
      `${list.length} ${what} could not be asked: ${list.slice(0, 3).join("; ")}`;
    // a correction counts against its period only once recorded: before then, the period's
    // reduction (or the project's debt) misses its grams
    const g = r.unrecordedCorrections.reduce((sum, u) => sum + u.fossilCo2eGrams, 0n);
    const corrections =
      r.unaskedCorrections.length > 0
        ? fail(linkCorrections, unasked("correction batch(es)", r.unaskedCorrections))
        : r.unrecordedCorrections.length === 0
          ? pass(
              linkCorrections,
              `every correction batch of the facility whose window is over is recorded (${r.corrections} in all)`,
            )
          : fail(
              linkCorrections,
              `${r.unrecordedCorrections.length} correction batch(es) not recorded, ${g} g that count against nothing yet: call recordCorrection(header) for ${r.unrecordedCorrections.map((u) => u.attestationId).join(", ")}`,
            );
    if (unaskedShortfalls.length > 0) return [corrections, fail(link, unasked("attestation(s)", unaskedShortfalls))];
    if (r.unrecorded.length === 0)
      return [
        corrections,
        pass(
          link,
          `none of the ${r.regular} regular attestations of the facility (${r.settled} issued or recorded) is above its baseline and unrecorded; the project owes ${r.owedGrams} g`,
        ),
      ];
    const total = r.unrecorded.reduce((sum, u) => sum + u.excessGrams, 0n);
    return [
      corrections,
      fail(
        link,
        `${r.unrecorded.length} period(s) above the baseline not recorded, ${total} g the project does not owe yet: call recordShortfall(${projectId}, header) for ${r.unrecorded.map((u) => u.attestationId).join(", ")}`,
      ),
    ];
  }

  // Attestations, a few at a time (they share the cache: each bundle and device fetched once).
  const queue = issuances.map((i, k) => ({ id: i.attestationId, section: attestationSections[k]! }));
  const workers = Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
    for (let next = queue.shift(); next; next = queue.shift()) {
      await attest({ attestationId: next.id }, next.section);
    }
  });
  await Promise.all([purchase, issuanceChecks, ...workers]);
  return finish(report());

  function finish(r: LineageReport): LineageReport {
    o.onProgress?.(r);
    return r;
  }
}

/**
 * The attestation whose bundle holds the reading with `digest`: every attestation's bundle,
 * newest first, a few at a time, until one holds it. Returns the reading's envelope, or why not.
 */
async function findReading(
  o: Omit<VerifyOptions, "target">,
  cache: VerifyCache,
  digest: Hex,
): Promise<Envelope | string> {
  const all = (await findSubmissions({ ...o, cache }, {})).slice().reverse();
  const want = digest.toLowerCase();
  const unreadable: string[] = [];
  let found: Envelope | undefined;
  const queue = [...all];
  const withCache = { ...o, cache };
  const worker = async () => {
    for (let next = queue.shift(); next && !found; next = queue.shift()) {
      const sub = next;
      try {
        // keys of a bundle read before (or by another worker) are not fetched again; bytes are
        // fetched only for a bundle whose keys are not known, and kept only while decoding
        let bytes: Uint8Array | undefined;
        const keys = await memo(cache.readingKeys, sub.header.bundleCid, async () => {
          const got = await getHashedBytes(withCache, sub.header.bundleCid);
          if (got.cid !== sub.header.bundleCid)
            throw new SdkError(`bundle does not hash to its CID (${o.source.describe} sent bytes of ${got.cid})`, {
              code: "INVALID_BUNDLE",
            });
          bytes = got.bytes;
          return bundleReadingKeys(got.bytes);
        });
        const i = keys.digests.findIndex((d) => d.toLowerCase() === want);
        if (i < 0) continue;
        if (!bytes) {
          const got = await getHashedBytes(withCache, sub.header.bundleCid);
          if (got.cid !== sub.header.bundleCid) {
            unreadable.push(`${sub.id}: bundle does not hash to its CID`);
            continue;
          }
          bytes = got.bytes;
        }
        found = decodeBundle(bytes).readings[i]!.envelope;
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        unreadable.push(`${sub.id}: ${error.message.split("\n")[0]}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(4, all.length) }, worker));
  if (found) return found;
  return `no bundle of the ${all.length} attestation(s) on ${o.registry} (from ${o.source.describe}) holds reading ${digest}${unreadable.length > 0 ? `; unreadable: ${unreadable.slice(0, 3).join("; ")}` : ""}`;
}

/**
 * The attestation a bundle file belongs to: the one whose header names the file's CID, else
 * the one of the same facility and period (the file was changed: its CID link will FAIL).
 */
async function findBundleAttestation(
  o: Omit<VerifyOptions, "target">,
  bytes: Uint8Array,
  name: string,
): Promise<{ id: Hex; header: { bundleCid: string } } | string> {
  let facilityId: string;
  let period: { start: number; end: number };
  try {
    const value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes)) as {
      facilityId?: unknown;
      period?: { start?: unknown; end?: unknown };
    };
    // whole seconds, both ends: they go to BigInt below (1.5 or a missing end threw a RangeError)
    if (
      typeof value.facilityId !== "string" ||
      !Number.isSafeInteger(value.period?.start) ||
      !Number.isSafeInteger(value.period?.end)
    )
      return `${name} is not an evidence bundle (no facilityId, or no period of whole seconds)`;
    facilityId = value.facilityId;
    period = { start: value.period!.start as number, end: value.period!.end as number };
  } catch (error) {
    if (!(error instanceof Error)) throw error;
    return `${name} is not JSON: ${error.message}`;
  }
  let facility: Hex;
  try {
    facility = idToBytes32(facilityId);
  } catch (error) {
    if (!(error instanceof SdkError)) throw error;
    return `${name}: facility id ${JSON.stringify(facilityId)} is invalid`;
  }
  const cid = await bundleCidAsync(bytes);
  const subs = await findSubmissions(o, { facilityId: facility });
  const byCid = subs.find((s) => s.header.bundleCid === cid);
  if (byCid) return byCid;
  const byPeriod = subs.find(
    (s) => s.header.periodStart === BigInt(period.start) && s.header.periodEnd === BigInt(period.end),
  );
  if (byPeriod) return byPeriod;
  return `no attestation names CID ${cid}, and none of ${facilityId} covers [${period.start}, ${period.end}) (${subs.length} attestation(s) of the facility)`;
}

/** The CarbonCredits of the walk issues against the registry the walk reads (not another deployment's). */
async function sameRegistry(client: LineageOptions["client"], credits: Address, registry: Address): Promise<LinkCheck> {
  const link = "CarbonCredits issues against this AttestationRegistry";
  const its = (await client.readContract({
    address: credits,
    abi: carbonCreditsAbi,
    functionName: "registry",
  })) as Address;
  return isAddressEqual(its, registry)
    ? pass(link, `CarbonCredits ${credits} reads AttestationRegistry ${registry}`)
    : fail(
        link,
        `CarbonCredits ${credits} issues against AttestationRegistry ${its}, not ${registry}: give the registry of the same deployment (--registry ${its})`,
      );
}

type Issuance = { attestationId: Hex; amount: bigint; boundKg: bigint; projectId: number; txHash: Hex };

/**
 * An issuance against what the attested header and the project's baseline allow, read from the
 * chain apart from the `CreditsIssued` event (whose `boundKg` is the contract's own figure):
 *
 *     amount (kg) ≤ floor((baselineGrams(project, periodStart, periodEnd) − header fossil grams) / 1000)
 *
 * the bound CarbonCredits computes before it covers correction debt and corrections recorded
 * against the attestation, which only lower it: an issuance under this is not proven to be at its
 * bound, but one above it was never allowed. And the project is of the header's facility and
 * methodology, the credit of the project and of the header's vintage (UTC year of periodStart).
 * The header is the one the attestation's section verifies (same event, through the cache).
 */
async function issuanceWithinBaseline(
  o: Omit<VerifyOptions, "target"> & { cache: VerifyCache },
  credits: Address,
  tokenId: bigint,
  i: Issuance,
): Promise<LinkCheck[]> {
  const link = `credit ${tokenId} issued from attestation ${i.attestationId}`;
  const scopeLink = `project ${i.projectId} and vintage of credit ${tokenId} = attestation ${i.attestationId}`;
  const [sub] = await findSubmissions(o, { id: i.attestationId });
  if (!sub) {
    const why = `no AttestationSubmitted for ${i.attestationId} at ${o.registry}: no attested emissions to bound ${i.amount} kg by`;
    return [fail(link, why), fail(scopeLink, why)];
  }
  const h = sub.header;
  const period = `[${h.periodStart}, ${h.periodEnd})`;
  let project: { facilityId: Hex; methodologyId: Hex; correctionDebtGrams: bigint };
  let baselineGrams: bigint;
  try {
    [project, baselineGrams] = await Promise.all([
      o.client.readContract({
        address: credits,
        abi: carbonCreditsAbi,
        functionName: "getProject",
        args: [i.projectId],
      }) as Promise<{ facilityId: Hex; methodologyId: Hex; correctionDebtGrams: bigint }>,
      o.client.readContract({
        address: credits,
        abi: carbonCreditsAbi,
        functionName: "baselineGrams",
        args: [i.projectId, h.periodStart, h.periodEnd],
      }) as Promise<bigint>,
    ]);
  } catch (error) {
    // only a revert (no such project, no baseline for the period) is an answer; RPC failures propagate
    if (!reverted(error)) throw error;
    const why = `CarbonCredits ${credits} has no project ${i.projectId} or no baseline of it over ${period}: ${error.shortMessage}`;
    return [fail(link, why), fail(scopeLink, why)];
  }
  const fossilGrams = h.fossilCo2eGrams;
  const allowedKg = baselineGrams > fossilGrams ? (baselineGrams - fossilGrams) / 1000n : 0n;
  const arithmetic = `floor((baseline ${baselineGrams} g − attested ${fossilGrams} g) / 1000) over ${period}`;
  const bound =
    i.amount <= allowedKg
      ? pass(
          link,
          `${i.amount} kg ≤ ${allowedKg} kg = ${arithmetic} (project ${i.projectId}; the contract's bound after corrections ${i.boundKg} kg; tx ${i.txHash})`,
        )
      : fail(
          link,
          `${i.amount} kg issued, more than the ${allowedKg} kg = ${arithmetic} that project ${i.projectId}'s baseline and the attested emissions allow (the event claims a bound of ${i.boundKg} kg; tx ${i.txHash})`,
        );
  const problems: string[] = [];
  if (project.facilityId.toLowerCase() !== h.facilityId.toLowerCase())
    problems.push(`project facility ${idOrHex(project.facilityId)}, attestation ${idOrHex(h.facilityId)}`);
  if (project.methodologyId.toLowerCase() !== h.methodologyId.toLowerCase())
    problems.push(`project methodology ${project.methodologyId}, attestation ${h.methodologyId}`);
  if (tokenId >> 16n !== BigInt(i.projectId)) problems.push(`token ${tokenId} is of project ${tokenId >> 16n}`);
  const vintage = new Date(Number(h.periodStart) * 1000).getUTCFullYear();
  if (Number(tokenId & 0xffffn) !== vintage)
    problems.push(`token vintage ${tokenId & 0xffffn}, attested period starts in ${vintage}`);
  const scope =
    problems.length === 0
      ? pass(scopeLink, `facility ${idOrHex(h.facilityId)}, methodology ${h.methodologyId}, vintage ${vintage}`)
      : fail(scopeLink, problems.join("; "));
  return [bound, scope];
}

function idOrHex(value: Hex): string {
  try {
    return bytes32ToId(value);
  } catch (error) {
    if (error instanceof SdkError) return value;
    throw error;
  }
}

async function creditsOf(o: LineageOptions): Promise<Address | undefined> {
  if (!o.certificates) return undefined;
  return (await o.client.readContract({
    address: o.certificates,
    abi: retirementCertificatesAbi,
    functionName: "credits",
  })) as Address;
}

async function readCertificate(o: LineageOptions, certificateId: bigint): Promise<Certificate | string> {
  if (!o.certificates) return "no RetirementCertificates address given";
  try {
    return (await o.client.readContract({
      address: o.certificates,
      abi: retirementCertificatesAbi,
      functionName: "getCertificate",
      args: [certificateId],
    })) as Certificate;
  } catch (error) {
    // Only a revert (no such certificate) is an answer; RPC failures propagate.
    if (!reverted(error)) throw error;
    return `certificate ${certificateId}: ${error.shortMessage}`;
  }
}

type BoughtLog = {
  args: {
    listingId: bigint;
    buyer: Address;
    tokenId: bigint;
    amount: bigint;
    totalPrice: bigint;
    retired: boolean;
    certificateId: bigint;
  };
  transactionHash: Hex;
  blockNumber: bigint;
};

/**
 * The purchase link: the marketplace sales that delivered the retired credits to the retiree.
 * Bought-and-retired in one transaction (the sale names the certificate), or sales of the credit
 * to the retiree before the retirement. No sale at all is not a failure: the retiree may be the
 * issuance's recipient or have received the credits by transfer (an informational SKIP).
 */
async function checkPurchase(o: LineageOptions, certificateId: bigint, cert: Certificate): Promise<LinkCheck[]> {
  const link = "purchase";
  if (!o.certificates) return [skip(link, "no RetirementCertificates address given")];
  const retiredLogs = (await walkEvents(o, {
    address: o.certificates,
    abi: retirementCertificatesAbi,
    eventName: "Retired",
    args: { certificateId },
  })) as unknown as {
    args: { creditId: bigint; amount: bigint; retiree: Address; holder: Address };
    transactionHash: Hex;
    blockNumber: bigint;
  }[];
  const retired = retiredLogs[0];
  const checks: LinkCheck[] = [];
  if (!retired) return [fail("retirement event", `no Retired event for certificate ${certificateId}`)];
  const same = retired.args.creditId === cert.creditId && retired.args.amount === cert.amount;
  checks.push(
    same
      ? pass(
          "retirement event",
          `Retired: ${retired.args.amount} kg of credit ${retired.args.creditId} by ${retired.args.retiree} (tx ${retired.transactionHash}, block ${retired.blockNumber})`,
        )
      : fail(
          "retirement event",
          `Retired event says ${retired.args.amount} kg of credit ${retired.args.creditId}, the certificate ${cert.amount} kg of ${cert.creditId}`,
        ),
  );
  if (!o.marketplace) {
    checks.push(skip(link, "no Marketplace address given: sales not looked up"));
    return checks;
  }
  const bought = (await walkEvents(o, {
    address: o.marketplace,
    abi: marketplaceAbi,
    eventName: "Bought",
    args: { buyer: cert.retiree, tokenId: cert.creditId },
    toBlock: retired.blockNumber,
  })) as unknown as BoughtLog[];
  const inOne = bought.find((b) => b.args.retired && b.args.certificateId === certificateId);
  if (inOne) {
    const ok = inOne.transactionHash === retired.transactionHash && inOne.args.amount === cert.amount;
    checks.push(
      ok
        ? pass(
            link,
            `bought ${inOne.args.amount} kg in listing ${inOne.args.listingId} and retired in the same transaction ${inOne.transactionHash}`,
          )
        : fail(
            link,
            `sale in listing ${inOne.args.listingId} names certificate ${certificateId} but ${inOne.args.amount} kg in tx ${inOne.transactionHash}, the retirement ${cert.amount} kg in tx ${retired.transactionHash}`,
          ),
    );
    return checks;
  }
  const sales = bought.filter((b) => !b.args.retired);
  if (sales.length > 0) {
    const total = sales.reduce((sum, b) => sum + b.args.amount, 0n);
    const listings = [...new Set(sales.map((b) => b.args.listingId.toString()))];
    checks.push(
      pass(
        link,
        `${sales.length} sale(s) delivered ${total} kg of credit ${cert.creditId} to ${cert.retiree} before the retirement of ${cert.amount} kg (listing${listings.length === 1 ? "" : "s"} ${listings.join(", ")}; first tx ${sales[0]!.transactionHash})${total < cert.amount ? `; the other ${cert.amount - total} kg came from issuance or transfer` : ""}`,
      ),
    );
    return checks;
  }
  let issuedTo = false;
  if (o.credits) {
    const issued = await walkEvents(o, {
      address: o.credits,
      abi: carbonCreditsAbi,
      eventName: "CreditsIssued",
      args: { tokenId: cert.creditId },
      toBlock: retired.blockNumber,
    });
    issuedTo = issued.some((l) => isAddressEqual((l.args as { to: Address }).to, cert.retiree));
  }
  checks.push(
    skip(
      link,
      issuedTo
        ? `retired by the issuer's recipient ${cert.retiree}: no purchase`
        : `no marketplace sale of credit ${cert.creditId} to ${cert.retiree}: the credits reached it by transfer`,
    ),
  );
  return checks;
}

/** The lineage as a flat list of links (e.g. for the CLI or a test): each section's checks in order. */
export function lineageChecks(report: LineageReport): LinkCheck[] {
  return report.sections.flatMap((s) => s.checks);
}
