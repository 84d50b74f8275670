/**
 * The operator's release of co-sign records (`carbonproof-oracle cosigned release`, docs/oracle.md
 * "Quorum"): a record makes this node refuse any other header for its facility and period
 * (quorum/cosigner.ts, against equivocation), so one whose header will never reach the chain (the
 * lead node rebuilt the batch) would block that period for good. Released only when the header is
 * not attested on the AttestationRegistry it was co-signed for, or, when that cannot be checked,
 * on the operator's `force`.
 */
import type { Logger } from "pino";
import type { Hex } from "../../../sdk/src/index.ts";
import type { CosignRecord, Storage } from "../storage/types.ts";

/** A period named on the command line: its start (unix s), and its end when given. */
export type PeriodSpec = { start: number; end: number | null };

/**
 * This node's chain, as the release asks it: whether an attestation id is attested on the
 * AttestationRegistry at `registry` (its `exists`). `chainId` and `registry`: this node's
 * `chain.chainId` and `chain.attestationRegistry`. A record is checked on the registry it names
 * (one of another chain cannot be checked here); one that names none (made before records named
 * their registry) on this node's.
 */
export type ReleaseChain = {
  chainId: number;
  registry: Hex;
  attested: (registry: Hex, attestationId: Hex) => Promise<boolean>;
};

export type ReleasePlan =
  | { ok: true; records: CosignRecord[]; checked: string }
  | { ok: false; code: "COSIGN_NOT_FOUND" | "COSIGN_ATTESTED" | "COSIGN_UNCHECKED"; message: string };

/** `START` or `START..END`, unix seconds as `cosigned list` shows them; null when it is neither. */
export function parsePeriod(text: string): PeriodSpec | null {
  const m = /^([0-9]{1,12})(?:\.\.([0-9]{1,12}))?$/.exec(text);
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === undefined ? null : Number(m[2]);
  return end !== null && end <= start ? null : { start, end };
}

/** How `cosigned list` and the release name a record's registry. */
export function registryText(r: CosignRecord): string {
  return r.registry
    ? `registry ${r.registry.address} on chain ${r.registry.chainId}`
    : "every registry (recorded before co-sign records named theirs)";
}

/**
 * The records of `facilityId` to release for `periods` (every record whose period starts there,
 * and ends there when an end is given: a regular header and its corrections alike, of any
 * registry), each checked against the registry it was co-signed for: refused when a period has
 * no record, when a header is attested, and when the chain cannot be asked (`chain` null, a
 * record of another chain, or the call failing) unless `force`. All or none.
 */
export async function planRelease(opts: {
  storage: Pick<Storage, "listCosigns">;
  facilityId: string;
  periods: PeriodSpec[];
  /** null: no chain configured; `unavailable` says why */
  chain: ReleaseChain | null;
  unavailable: string;
  force: boolean;
}): Promise<ReleasePlan> {
  const all = opts.storage.listCosigns({ facilityId: opts.facilityId, limit: 1_000_000 });
  const records: CosignRecord[] = [];
  for (const p of opts.periods) {
    const found = all.filter((r) => r.periodStart === p.start && (p.end === null || r.periodEnd === p.end));
    if (!found.length)
      return {
        ok: false,
        code: "COSIGN_NOT_FOUND",
        message: `this node holds no co-sign record of facility ${opts.facilityId} for a period starting at ${p.start}${p.end === null ? "" : ` and ending at ${p.end}`}: \`cosigned list --facility ${opts.facilityId}\` shows those it holds; nothing released`,
      };
    for (const r of found) if (!records.includes(r)) records.push(r);
  }
  const chain = opts.chain;
  let why: string | null = chain ? null : opts.unavailable;
  for (const r of records) {
    if (why !== null || !chain) break;
    if (r.registry && r.registry.chainId !== chain.chainId) {
      why = `the header ${r.attestationId} was co-signed for the ${registryText(r)}, and this node's chain.chainId is ${chain.chainId}`;
      break;
    }
    const registry = (r.registry?.address ?? chain.registry) as Hex;
    let attested: boolean;
    try {
      attested = await chain.attested(registry, r.attestationId as Hex);
    } catch (err) {
      why = `reading the AttestationRegistry failed: ${(err as Error).message.split("\n")[0]} (at ${registry})`;
      break;
    }
    if (attested)
      return {
        ok: false,
        code: "COSIGN_ATTESTED",
        message: `the header ${r.attestationId} (facility ${r.facilityId}, period ${r.periodStart}..${r.periodEnd}, AttestationRegistry ${registry}) is attested on-chain: its co-sign record stays, or this node would sign an alternative to an attested period; nothing released`,
      };
  }
  if (why === null) return { ok: true, records, checked: "not attested on-chain" };
  if (!opts.force)
    return {
      ok: false,
      code: "COSIGN_UNCHECKED",
      message: `cannot check that the headers are not attested on-chain (${why}): fix the chain settings (chain.enabled, chain.rpcUrl, chain.attestationRegistry) and run again, or, having made sure on a block explorer that none of them is attested, add --force; nothing released`,
    };
  return { ok: true, records, checked: `unchecked (forced): ${why}` };
}

/** Releases `records`, each logged (warn: an operator overriding equivocation protection) with who and what. */
export function releaseRecords(opts: {
  storage: Pick<Storage, "releaseCosign">;
  records: CosignRecord[];
  checked: string;
  by: string;
  logger: Logger;
}): CosignRecord[] {
  const released: CosignRecord[] = [];
  for (const r of opts.records) {
    if (!opts.storage.releaseCosign(r.attestationId)) continue; // released meanwhile
    released.push(r);
    opts.logger.warn(
      {
        attestation: r.attestationId,
        facility: r.facilityId,
        periodStart: r.periodStart,
        periodEnd: r.periodEnd,
        correctionOf: r.correctionOf,
        bundleCid: r.bundleCid,
        signedAtMs: r.signedAtMs,
        chainId: r.registry?.chainId ?? null,
        registry: r.registry?.address ?? null,
        by: opts.by,
        onChain: opts.checked,
      },
      "co-sign record released by the operator: this node may now sign another header for this period",
    );
  }
  return released;
}
