import { factorSetId } from "../factors/factorSet.ts";
import { bytesToHex } from "../hex.ts";
import { buildMerkleTree } from "../merkle/tree.ts";
import { batchTotals, computeReading } from "../methodology/compute.ts";
import { readingDigest } from "../reading/digest.ts";
import { verifyEnvelope } from "../reading/sign.ts";
import { SdkError } from "../errors.ts";
import type { Bundle } from "./schema.ts";

/** One link of the chain of custody: what was checked, PASS or FAIL, and why. */
export type LinkCheck = {
  link: string;
  ok: boolean;
  detail: string;
  /** Could not be checked with what was given (printed SKIP; does not fail the run, says why). */
  skipped?: boolean;
};

/**
 * Re-checks everything inside a bundle that needs no chain: factor-set id, each
 * digest, the root, each result and the totals, recomputed from the readings.
 * Device signatures need keys: pass `publicKeyOf` (deviceId, ts) → key, or null when
 * unknown, to check them too.
 */
export async function checkBundle(
  bundle: Bundle,
  options: { publicKeyOf?: (deviceId: string, ts: number) => Promise<Uint8Array | string | null> } = {},
): Promise<LinkCheck[]> {
  const checks: LinkCheck[] = [];
  const computedSetId = factorSetId(bundle.factorSet.content);
  checks.push({
    link: "factor set id",
    ok: computedSetId === bundle.factorSet.id,
    detail:
      computedSetId === bundle.factorSet.id
        ? bundle.factorSet.id
        : `content hashes to ${computedSetId}, bundle says ${bundle.factorSet.id}`,
  });

  const badDigests = bundle.readings.filter((r) => bytesToHex(readingDigest(r.envelope.reading)) !== r.digest);
  checks.push({
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
  checks.push({
    link: "readings belong to the batch",
    ok: outside.length === 0 && dupes.length === 0,
    detail:
      outside.length === 0 && dupes.length === 0
        ? `all of facility ${bundle.facilityId}, ts in [${bundle.period.start}, ${bundle.period.end}), no (deviceId, seq) twice`
        : `${outside.length} outside facility/period, ${dupes.length} repeated (deviceId, seq)`,
  });

  const root = buildMerkleTree(bundle.readings.map((r) => readingDigest(r.envelope.reading))).root;
  checks.push({
    link: "merkle root of the readings",
    ok: root === bundle.root && bundle.totals.readingCount === bundle.readings.length,
    detail:
      root === bundle.root
        ? `${root} over ${bundle.readings.length} leaves`
        : `recomputed ${root}, bundle says ${bundle.root}`,
  });

  const set = { id: bundle.factorSet.id as `0x${string}`, content: bundle.factorSet.content };
  let mismatched = 0;
  let firstMismatch = "";
  const mgs: { fossilCo2eMg: bigint; biogenicCo2Mg: bigint }[] = [];
  for (const r of bundle.readings) {
    try {
      const res = computeReading(r.envelope.reading, set, bundle.facilityContext);
      mgs.push(res);
      if (
        res.fossilCo2eMg.toString() !== r.result.fossilCo2eMg ||
        res.biogenicCo2Mg.toString() !== r.result.biogenicCo2Mg
      ) {
        mismatched++;
        firstMismatch ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: recomputed ${res.fossilCo2eMg} mg, bundle ${r.result.fossilCo2eMg} mg`;
      }
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      mismatched++;
      firstMismatch ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: ${error.message}`;
    }
  }
  checks.push({
    link: "per-reading emissions recomputed",
    ok: mismatched === 0,
    detail:
      mismatched === 0
        ? `${bundle.readings.length} results match (methodology ${bundle.methodologyId})`
        : `${mismatched} differ; first ${firstMismatch}`,
  });
  const t = batchTotals(mgs);
  const totalsOk =
    mismatched === 0 &&
    t.fossilCo2eMg.toString() === bundle.totals.fossilCo2eMg &&
    t.biogenicCo2Mg.toString() === bundle.totals.biogenicCo2Mg &&
    t.fossilCo2eGrams.toString() === bundle.totals.fossilCo2eGrams &&
    t.biogenicCo2Grams.toString() === bundle.totals.biogenicCo2Grams;
  checks.push({
    link: "bundle totals recomputed",
    ok: totalsOk,
    detail: totalsOk
      ? `fossil ${t.fossilCo2eGrams} g CO2e, biogenic ${t.biogenicCo2Grams} g CO2`
      : `recomputed fossil ${t.fossilCo2eGrams} g / biogenic ${t.biogenicCo2Grams} g, bundle ${bundle.totals.fossilCo2eGrams} g / ${bundle.totals.biogenicCo2Grams} g`,
  });

  if (options.publicKeyOf) {
    let bad = 0;
    let unknown = 0;
    let first = "";
    for (const r of bundle.readings) {
      const key = await options.publicKeyOf(r.envelope.reading.deviceId, r.envelope.reading.ts);
      if (key === null) {
        unknown++;
        first ||= `${r.envelope.reading.deviceId}: no registered key`;
      } else if (!verifyEnvelope(r.envelope, key)) {
        bad++;
        first ||= `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}: invalid signature`;
      }
    }
    checks.push({
      link: "device signatures",
      ok: bad === 0 && unknown === 0,
      detail:
        bad === 0 && unknown === 0
          ? `${bundle.readings.length} P-256 signatures valid (low-s)`
          : `${bad} invalid, ${unknown} without key; first ${first}`,
    });
  }
  return checks;
}
