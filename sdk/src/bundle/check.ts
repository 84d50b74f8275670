import { factorSetId } from "../factors/factorSet.ts";
import { beyondHeaderRange } from "./bundle.ts";
import { bytesToHex, toBytes } from "../hex.ts";
import { buildMerkleTree, type MerkleTree } from "../merkle/tree.ts";
import { batchTotals, computeReading } from "../methodology/compute.ts";
import { METHODOLOGY_ID, METHODOLOGY_NAME, METHODOLOGY_VERSION } from "../methodology/methodologyId.ts";
import { canonicalBytes } from "../reading/canonical.ts";
import { sha256Bytes } from "../reading/digest.ts";
import { SdkError } from "../errors.ts";
import { nobleSignatureVerifier, type SignatureBatchVerifier, type SignatureItem } from "../verify/signatures.ts";
import type { Bundle } from "./schema.ts";

/** The fields of a reading's result, each compared with the sdk's own computation. */
const RESULT_FIELDS = ["fossilCo2eMg", "biogenicCo2Mg", "fossilCo2Mg", "ch4Mg", "n2oMg"] as const;

/** One link of the chain of custody: what was checked, PASS or FAIL, and why. */
export type LinkCheck = {
  link: string;
  ok: boolean;
  detail: string;
  /** Could not be checked with what was given (printed SKIP; does not fail the run, says why). */
  skipped?: boolean;
};

export type CheckBundleOptions = {
  /** Device key at a reading's time (uncompressed P-256), or null when unknown. Without it, no signature link. */
  publicKeyOf?: (deviceId: string, ts: number) => Promise<Uint8Array | string | null>;
  /** How signatures are checked (default @noble/curves; browsers pass WebCrypto: same rule, faster). */
  signatures?: SignatureBatchVerifier;
  /** Called with each link as soon as it is decided (pages fill in rows as they finish). */
  onCheck?: (check: LinkCheck) => void;
};

/** {@link checkBundle}'s links plus what it recomputed, for callers that go on (inclusion proofs). */
export type BundleCheckDetail = {
  checks: LinkCheck[];
  /** SHA-256 of each reading's canonical bytes, recomputed, in bundle order. */
  digests: Uint8Array[];
  /** The Merkle tree over the recomputed digests. */
  tree: MerkleTree;
};

/**
 * Re-checks everything inside a bundle that needs no chain: factor-set id, each
 * digest, the root, the methodology id (this sdk's METHODOLOGY_ID, the only one it can
 * recompute), each result and the totals, recomputed from the readings.
 * Device signatures need keys: pass `publicKeyOf` (deviceId, ts) → key, or null when
 * unknown, to check them too.
 */
export async function checkBundle(bundle: Bundle, options: CheckBundleOptions = {}): Promise<LinkCheck[]> {
  return (await checkBundleDetailed(bundle, options)).checks;
}

/** {@link checkBundle}, also returning the recomputed digests and tree. */
export async function checkBundleDetailed(
  bundle: Bundle,
  options: CheckBundleOptions = {},
): Promise<BundleCheckDetail> {
  const checks: LinkCheck[] = [];
  const push = (c: LinkCheck) => {
    checks.push(c);
    options.onCheck?.(c);
  };
  const computedSetId = factorSetId(bundle.factorSet.content);
  push({
    link: "factor set id",
    ok: computedSetId === bundle.factorSet.id,
    detail:
      computedSetId === bundle.factorSet.id
        ? bundle.factorSet.id
        : `content hashes to ${computedSetId}, bundle says ${bundle.factorSet.id}`,
  });

  // Canonical bytes and digest of each reading, once: the digest, root and signature links all use them.
  const messages = bundle.readings.map((r) => canonicalBytes(r.envelope.reading));
  const digests = messages.map((m) => sha256Bytes(m));
  const badDigests = bundle.readings.filter((r, i) => bytesToHex(digests[i]!) !== r.digest);
  push({
    link: "reading digests",
    ok: badDigests.length === 0,
    detail:
      badDigests.length === 0
        ? `${bundle.readings.length} digests = SHA-256(JCS(reading))`
        : `${badDigests.length} digest(s) do not match their reading, first ${badDigests[0]!.envelope.reading.deviceId}#${badDigests[0]!.envelope.reading.seq}`,
  });

  const outside = bundle.readings.filter(
    (r) =>
      r.envelope.reading.facilityId !== bundle.facilityId ||
      r.envelope.reading.ts < bundle.period.start ||
      r.envelope.reading.ts >= bundle.period.end,
  );
  const seen = new Set<string>();
  const dupes = bundle.readings.filter((r) => {
    const k = `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`;
    return seen.has(k) || (seen.add(k), false);
  });
  push({
    link: "readings belong to the batch",
    ok: outside.length === 0 && dupes.length === 0,
    detail:
      outside.length === 0 && dupes.length === 0
        ? `all of facility ${bundle.facilityId}, ts in [${bundle.period.start}, ${bundle.period.end}), no (deviceId, seq) twice`
        : `${outside.length} outside facility/period, ${dupes.length} repeated (deviceId, seq)`,
  });

  const tree = buildMerkleTree(digests);
  const root = tree.root;
  push({
    link: "merkle root of the readings",
    ok: root === bundle.root && bundle.totals.readingCount === bundle.readings.length,
    detail: [
      root === bundle.root
        ? `${root} over ${bundle.readings.length} leaves`
        : `recomputed ${root}, bundle says ${bundle.root}`,
      ...(bundle.totals.readingCount === bundle.readings.length
        ? []
        : [
            `reading count differs: totals.readingCount ${bundle.totals.readingCount}, ${bundle.readings.length} readings`,
          ]),
    ].join("; "),
  });

  // The results below are recomputed with this sdk's formulas, which are methodology
  // METHODOLOGY_ID and no other: a bundle that claims another methodology cannot be checked here,
  // and matching results would not show that its claimed methodology was followed.
  const methodologyOk = bundle.methodologyId === METHODOLOGY_ID;
  push({
    link: "methodology",
    ok: methodologyOk,
    detail: methodologyOk
      ? `${METHODOLOGY_ID} (${METHODOLOGY_NAME}@${METHODOLOGY_VERSION})`
      : `bundle says ${bundle.methodologyId}; this verifier implements only ${METHODOLOGY_ID} (${METHODOLOGY_NAME}@${METHODOLOGY_VERSION})`,
  });

  const set = { id: bundle.factorSet.id as `0x${string}`, content: bundle.factorSet.content };
  let mismatched = 0;
  let firstMismatch = "";
  const mgs: { fossilCo2eMg: bigint; biogenicCo2Mg: bigint }[] = [];
  for (const r of bundle.readings) {
    try {
      const res = computeReading(r.envelope.reading, set, bundle.facilityContext);
      mgs.push(res);
      const beyond = beyondHeaderRange(res);
      if (beyond) {
        mismatched++;
        firstMismatch ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: ${beyond}`;
      } else {
        // every field of the result, the gases too (a CO2e total right with its CH4 or N2O made
        // up is not "the result recomputed")
        const field = RESULT_FIELDS.find((f) => (res[f] === null ? null : res[f].toString()) !== r.result[f]);
        if (field) {
          mismatched++;
          firstMismatch ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: ${field} recomputed ${res[field] ?? "null"}, bundle ${r.result[field] ?? "null"}`;
        }
      }
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      mismatched++;
      firstMismatch ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: ${error.message}`;
    }
  }
  push({
    link: "per-reading emissions recomputed",
    ok: mismatched === 0,
    detail:
      mismatched === 0
        ? `${bundle.readings.length} results match (methodology ${METHODOLOGY_ID})`
        : `${mismatched} differ; first ${firstMismatch}`,
  });
  const t = batchTotals(mgs);
  const totalsBeyond = beyondHeaderRange(t);
  const totalsOk =
    mismatched === 0 &&
    totalsBeyond === null &&
    t.fossilCo2eMg.toString() === bundle.totals.fossilCo2eMg &&
    t.biogenicCo2Mg.toString() === bundle.totals.biogenicCo2Mg &&
    t.fossilCo2eGrams.toString() === bundle.totals.fossilCo2eGrams &&
    t.biogenicCo2Grams.toString() === bundle.totals.biogenicCo2Grams;
  push({
    link: "bundle totals recomputed",
    ok: totalsOk,
    detail: totalsOk
      ? `fossil ${t.fossilCo2eGrams} g CO2e, biogenic ${t.biogenicCo2Grams} g CO2`
      : totalsBeyond !== null
        ? totalsBeyond
        : `recomputed fossil ${t.fossilCo2eGrams} g / biogenic ${t.biogenicCo2Grams} g, bundle ${bundle.totals.fossilCo2eGrams} g / ${bundle.totals.biogenicCo2Grams} g`,
  });

  if (options.publicKeyOf) {
    const publicKeyOf = options.publicKeyOf;
    const verifier = options.signatures ?? nobleSignatureVerifier;
    // Keys concurrently (the lookup memoises per device), then one batch of signatures.
    const keys = await Promise.all(
      bundle.readings.map((r) => publicKeyOf(r.envelope.reading.deviceId, r.envelope.reading.ts)),
    );
    let unknown = 0;
    let first = "";
    const items: SignatureItem[] = [];
    const itemOf: number[] = [];
    bundle.readings.forEach((r, i) => {
      const key = keys[i];
      if (key === null || key === undefined) {
        unknown++;
        first ||= `${r.envelope.reading.deviceId}: no registered key`;
        return;
      }
      let publicKey: Uint8Array;
      try {
        publicKey = toBytes(key);
      } catch (error) {
        if (!(error instanceof SdkError)) throw error;
        publicKey = new Uint8Array(0);
      }
      items.push({ message: messages[i]!, digest: digests[i]!, sig: r.envelope.sig, publicKey });
      itemOf.push(i);
    });
    const valid = await verifier.verify(items);
    let bad = 0;
    valid.forEach((ok, k) => {
      if (ok) return;
      bad++;
      const r = bundle.readings[itemOf[k]!]!;
      first ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: invalid signature`;
    });
    push({
      link: "device signatures",
      ok: bad === 0 && unknown === 0,
      detail:
        bad === 0 && unknown === 0
          ? `${bundle.readings.length} P-256 signatures valid (low-s)`
          : `${bad} invalid, ${unknown} without key; first ${first}`,
    });
  }
  return { checks, digests, tree };
}
