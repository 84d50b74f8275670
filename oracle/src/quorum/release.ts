/**
 * The operator's release of co-sign records (`carbonproof-oracle cosigned release`, docs/oracle.md
 * "Quorum"): a record makes this node refuse any other header for its facility and period on its
 * registry (quorum/cosigner.ts, against equivocation), so one whose header will never reach the
 * chain (the lead node rebuilt the batch) would block that period for good. A record is released
 * only when its header is not attested on the AttestationRegistry it was co-signed for, or, when
 * that cannot be checked, on the operator's `force`; an attested one never is.
 */
import type { Logger } from "pino";
import { BaseError, ContractFunctionRevertedError, ContractFunctionZeroDataError } from "viem";
import type { Hex } from "../../../sdk/src/index.ts";
import type { CosignRecord, CosignRegistry, Storage } from "../storage/types.ts";

/** A period named on the command line: its start (unix s), and its end when given. */
export type PeriodSpec = { start: number; end: number | null };

/**
 * This node's chain, as the release asks it: whether an attestation id is attested on the
 * AttestationRegistry at `registry` on chain `chainId` (this node's `chain.chainId`; a record of
 * another chain cannot be checked here).
 */
export type ReleaseChain = {
  chainId: number;
  attested: (registry: Hex, attestationId: Hex) => Promise<boolean>;
};

/**
 * How the release reaches this node's chain: resolved at most once, and only when a record is
 * selected, since making it asks the RPC node which chain it serves (up to its timeout when the
 * node hangs) and a release with nothing to check must not wait on that. `unavailable`: the chain
 * cannot be asked, and why (said of every record in the refusal); an RPC node out of reach is
 * that, not a rejection, which fails the release as a fault of the program would.
 */
export type ReleaseChainSource = () => Promise<ReleaseChain | { unavailable: string }>;

/**
 * At most this many `attested` reads at once: one at a time, N records waited up to N RPC
 * timeouts on a hanging node; a few at a time bounds that without flooding the operator's RPC
 * provider (a public one rate-limits bursts).
 */
export const RELEASE_CHECKS_IN_FLIGHT = 8;

/**
 * The pauses (ms) before a record whose read failed is read again: once the other records' checks
 * are done, one record at a time. A rate-limited RPC provider (a public one) fails part of a burst
 * of {@link RELEASE_CHECKS_IN_FLIGHT} reads (HTTP 429) and answers a lone read a moment later;
 * counted unchecked at once, such a record would be released by a `--force` the operator gave for
 * another (a record of another chain) though its header may be attested.
 */
export const RELEASE_RETRY_DELAYS_MS: readonly number[] = [500, 1_500];

/**
 * Once this many records in a row (of those read again) have failed every try, the failed ones
 * after them are not read again: a provider that stalls every read (up to its timeout each) would
 * otherwise keep the operator waiting, without a word, about 2 timeouts per record.
 */
export const RELEASE_RETRY_GIVE_UP_AFTER = 3;

/**
 * The time (ms) the reads again may take in all: once it is spent, no failed record is read again
 * (a provider that answers some reads and stalls the others never makes
 * {@link RELEASE_RETRY_GIVE_UP_AFTER} fail in a row).
 */
export const RELEASE_RETRY_BUDGET_MS = 30_000;

/** A record to release, and what the chain said of its header (logged with the release). */
export type Release = { record: CosignRecord; onChain: string };

/** What the chain said of one record's header, or why it could not be asked. */
type Outcome = { record: CosignRecord } & (
  { attested: false; onChain: string } | { attested: true; registry: Hex } | { unchecked: string }
);
/** A record's check so far: an outcome, or a read of `registry` that failed `tries` times, the last with `why`. */
type Checked = Outcome | { record: CosignRecord; registry: Hex; failed: { tries: number; why: string } };

/**
 * Whether a read that failed with `err` may answer when tried again: not when the RPC node
 * answered that the registry address holds no code (the call returned no data) or that the call
 * reverted (no `exists` there, or one that reverts), which it answers alike every time; a failure
 * to get an answer (HTTP 429, a timeout, a node's error) may pass.
 */
const mayPass = (err: unknown): boolean =>
  !(
    err instanceof BaseError &&
    err.walk((e) => e instanceof ContractFunctionZeroDataError || e instanceof ContractFunctionRevertedError) !== null
  );

/**
 * What a failure says, in one line and never the URL (viem's message lines quote it, and a
 * provider's may hold its key): viem's short message, the HTTP status it carries (`HTTP request
 * failed (429)`) and its details when short; another error's first line.
 */
const said = (err: unknown): string => {
  const firstLine = (err instanceof Error ? err.message : String(err)).split("\n")[0]!;
  if (!(err instanceof BaseError)) return firstLine;
  const short =
    err.shortMessage
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean)
      .join(" ") || firstLine;
  const withStatus = err.walk((e) => e instanceof BaseError && "status" in e && typeof e.status === "number");
  const status = withStatus ? ` (${(withStatus as BaseError & { status: number }).status})` : "";
  const details =
    err.details && err.details.length <= 120 && !/\n|:\/\//.test(err.details) && !short.includes(err.details)
      ? `: ${err.details}`
      : "";
  return status || details ? `${short.replace(/\.$/, "")}${status}${details}` : short;
};

export type ReleasePlan =
  | {
      ok: true;
      records: Release[];
      /** what the chain said, counted: `2 not attested on …; 1 unchecked (forced): …` */
      summary: string;
    }
  | {
      ok: false;
      code: "COSIGN_NOT_FOUND" | "COSIGN_ATTESTED" | "COSIGN_UNCHECKED" | "COSIGN_NO_REGISTRY";
      message: string;
    };

/** `START` or `START..END`, unix seconds as `cosigned list` shows them; null when it is neither. */
export function parsePeriod(text: string): PeriodSpec | null {
  const m = /^([0-9]{1,12})(?:\.\.([0-9]{1,12}))?$/.exec(text);
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === undefined ? null : Number(m[2]);
  return end !== null && end <= start ? null : { start, end };
}

/**
 * `--registry`: `all`, or `ADDRESS[@CHAINID]` (the address in any case; the chain this node's
 * `defaultChainId` when not given); null when it is neither.
 */
export function parseRegistryChoice(text: string, defaultChainId: number): CosignRegistry | "all" | null {
  if (text === "all") return "all";
  const m = /^(0x[0-9a-fA-F]{40})(?:@([1-9][0-9]{0,14}))?$/.exec(text);
  if (!m) return null;
  return { chainId: m[2] === undefined ? defaultChainId : Number(m[2]), address: m[1]!.toLowerCase() };
}

/** How `cosigned list` and the release name a record's registry. */
export function registryText(r: CosignRecord): string {
  return r.registry
    ? `registry ${r.registry.address} on chain ${r.registry.chainId}`
    : "every registry (recorded before co-sign records named theirs)";
}

const sameRegistry = (a: CosignRegistry, b: CosignRegistry) =>
  a.chainId === b.chainId && a.address.toLowerCase() === b.address.toLowerCase();

/** A registry as the release's messages name it. */
const named = (r: CosignRegistry) => `registry ${r.address} on chain ${r.chainId}`;

/**
 * The records of `facilityId` to release for `periods` (every record whose period starts there,
 * and ends there when an end is given: a regular header and its corrections alike) of the registry
 * `registry` names, each checked against the registry it was co-signed for.
 *
 * Whose records: by default (`registry` null) those that hold against a header of this node's
 * registry `current`, the only one it co-signs for: the records naming it, and those naming none
 * (made before records named their registry; they hold on every registry, and are checked on
 * `current`, the only registry this node can name for them). A record of another registry (before
 * a redeploy) blocks nothing this node signs now, and its header attested there must not hold
 * back the release of the current registry's record for the same period; it is released only when
 * its registry is named (`registry`, its records only) or with `"all"` (every registry's).
 *
 * Every record that can be checked is: refused when a period has no record, and when any header
 * is attested, `force` or not. A record that cannot be checked (`chain` unavailable, a record of
 * another chain, or the call failing) is refused unless `force`, which releases those (each said
 * so in its `onChain`), never a checked one found attested. All or none. The records are checked
 * {@link RELEASE_CHECKS_IN_FLIGHT} at a time, then those whose read failed read again one at a
 * time (`retryDelaysMs`) before they count as unchecked; outcomes and messages keep the records'
 * order.
 */
export async function planRelease(opts: {
  storage: Pick<Storage, "listCosigns">;
  facilityId: string;
  periods: PeriodSpec[];
  /** this node's registry (`chain.chainId`, `chain.attestationRegistry`); null when its config names none */
  current: CosignRegistry | null;
  /** whose records: null those that hold against `current`'s headers, a registry's own, or every registry's */
  registry: CosignRegistry | "all" | null;
  /** this node's chain, resolved once a record is selected (see {@link ReleaseChainSource}) */
  chain: ReleaseChainSource;
  force: boolean;
  /** the pauses before each further read of a record whose read failed (default {@link RELEASE_RETRY_DELAYS_MS}) */
  retryDelaysMs?: readonly number[];
  /** the time the reads again may take in all (default {@link RELEASE_RETRY_BUDGET_MS}) */
  retryBudgetMs?: number;
  /** the clock that budget is counted on (default `Date.now`) */
  now?: () => number;
}): Promise<ReleasePlan> {
  const { current } = opts;
  const choice = opts.registry ?? current;
  if (!choice)
    return {
      ok: false,
      code: "COSIGN_NO_REGISTRY",
      message: `this node's config names no AttestationRegistry (chain.attestationRegistry), so which co-sign records hold against its headers is unknown: name the registry whose records to release with --registry ADDRESS[@CHAINID] (\`cosigned list --facility ${opts.facilityId}\` shows each record's), or --registry all; nothing released`,
    };
  const isCurrent = choice !== "all" && current !== null && sameRegistry(choice, current);
  const selected = (r: CosignRecord) => choice === "all" || (r.registry ? sameRegistry(r.registry, choice) : isCurrent);
  const whose =
    choice === "all"
      ? ""
      : isCurrent
        ? ` that blocks headers of this node's ${named(choice)} (one naming it, or naming none)`
        : ` of the ${named(choice)}`;
  const all = opts.storage.listCosigns({ facilityId: opts.facilityId, limit: 1_000_000 });
  const records: CosignRecord[] = [];
  for (const p of opts.periods) {
    const ofPeriod = all.filter((r) => r.periodStart === p.start && (p.end === null || r.periodEnd === p.end));
    const found = ofPeriod.filter(selected);
    if (!found.length) {
      const others = ofPeriod.length
        ? ` (it holds ${ofPeriod.length} of other registries: \`cosigned list --facility ${opts.facilityId}\` shows them, --registry ADDRESS[@CHAINID] names one to release its records)`
        : `: \`cosigned list --facility ${opts.facilityId}\` shows those it holds`;
      return {
        ok: false,
        code: "COSIGN_NOT_FOUND",
        message: `this node holds no co-sign record of facility ${opts.facilityId} for a period starting at ${p.start}${p.end === null ? "" : ` and ending at ${p.end}`}${whose}${others}; nothing released`,
      };
    }
    for (const r of found) if (!records.includes(r)) records.push(r);
  }

  // asked only now that a record needs it: a period without one was refused above, unasked
  const resolved = records.length ? await opts.chain() : null;
  const chain = resolved && "attested" in resolved ? resolved : null;
  const unavailable = resolved && "unavailable" in resolved ? resolved.unavailable : "";
  const answered = (r: CosignRecord, registry: Hex, attested: boolean): Outcome =>
    attested
      ? { record: r, attested: true, registry }
      : {
          record: r,
          attested: false,
          onChain: r.registry
            ? "not attested on the registry it was co-signed for"
            : `not attested on the current registry (its own registry is unknown)`,
        };
  const check = async (r: CosignRecord): Promise<Checked> => {
    if (!chain) return { record: r, unchecked: unavailable };
    if (r.registry && r.registry.chainId !== chain.chainId)
      return {
        record: r,
        unchecked: `it was co-signed for the ${registryText(r)}, and this node's chain.chainId is ${chain.chainId}`,
      };
    const registry = (r.registry?.address ?? current?.address) as Hex | undefined;
    if (!registry)
      return {
        record: r,
        unchecked:
          "it names no registry (recorded before co-sign records named theirs), and this node's config names none (chain.attestationRegistry) to ask in its stead",
      };
    try {
      return answered(r, registry, await chain.attested(registry, r.attestationId as Hex));
    } catch (err) {
      // a check that fails is a record that cannot be checked, not a release that throws
      if (!mayPass(err))
        return { record: r, unchecked: `reading the AttestationRegistry failed: ${said(err)} (at ${registry})` };
      return { record: r, registry, failed: { tries: 1, why: said(err) } };
    }
  };
  // every record that can be checked is, whatever another gave (`force` must cover only those
  // that cannot be, never one left unasked), a few at a time; each outcome in its record's place,
  // so the messages name the records in the order they were read whichever answer came first
  const checked: Checked[] = new Array<Checked>(records.length);
  let next = 0;
  const worker = async () => {
    while (next < records.length) {
      const i = next++;
      checked[i] = await check(records[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(RELEASE_CHECKS_IN_FLIGHT, records.length) }, worker));
  // a read that failed is tried again once the burst is over, one record at a time, after a pause
  // before each try: what a rate-limited provider refused of the burst it answers then. Not once a
  // header is found attested: the release is refused, whatever the others would say. Bounded: not
  // after RELEASE_RETRY_GIVE_UP_AFTER records in a row failed every try, nor once the budget is
  // spent (a provider that stalls every read); each record left so says why
  const isAttested = (c: Checked) => "attested" in c && c.attested;
  const now = opts.now ?? Date.now;
  const budgetMs = opts.retryBudgetMs ?? RELEASE_RETRY_BUDGET_MS;
  const retryStartMs = now();
  let failedInRow = 0;
  const notAgain: string[] = new Array<string>(records.length).fill("");
  for (const i of checked.keys()) {
    if (!("failed" in checked[i]!)) continue;
    if (failedInRow >= RELEASE_RETRY_GIVE_UP_AFTER) {
      notAgain[i] = `; not read again: the ${RELEASE_RETRY_GIVE_UP_AFTER} before it failed every try`;
      continue;
    }
    for (const delayMs of opts.retryDelaysMs ?? RELEASE_RETRY_DELAYS_MS) {
      const c: Checked = checked[i]!;
      if (!chain || !("failed" in c) || checked.some(isAttested)) break;
      if (now() - retryStartMs + delayMs > budgetMs) {
        notAgain[i] = `; reads stopped: the ${budgetMs / 1000} s given to reading failed records again were spent`;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      try {
        checked[i] = answered(c.record, c.registry, await chain.attested(c.registry, c.record.attestationId as Hex));
      } catch (err) {
        checked[i] = mayPass(err)
          ? { ...c, failed: { tries: c.failed.tries + 1, why: said(err) } }
          : {
              record: c.record,
              unchecked: `reading the AttestationRegistry failed: ${said(err)} (at ${c.registry})`,
            };
      }
    }
    failedInRow = "failed" in checked[i]! && !notAgain[i] ? failedInRow + 1 : 0;
  }
  const outcomes: Outcome[] = checked.map((c, i) =>
    "failed" in c
      ? {
          record: c.record,
          unchecked: `reading the AttestationRegistry failed${c.failed.tries === 1 ? "" : ` ${c.failed.tries} times`}: ${c.failed.why} (at ${c.registry})${notAgain[i]}`,
        }
      : c,
  );

  const attested = outcomes.flatMap((o) => ("attested" in o && o.attested ? [o] : []));
  if (attested.length)
    return {
      ok: false,
      code: "COSIGN_ATTESTED",
      message: `${attested
        .map(
          ({ record: r, registry }) =>
            `the header ${r.attestationId} (facility ${r.facilityId}, period ${r.periodStart}..${r.periodEnd}, AttestationRegistry ${registry}${r.registry ? "" : ", this node's: the record names no registry of its own"}) is attested on-chain`,
        )
        .join(
          "; ",
        )}: ${attested.length === 1 ? "its co-sign record stays" : "their co-sign records stay"}, or this node would sign an alternative to an attested header, --force or not; nothing released`,
    };
  const unchecked = outcomes.flatMap((o) => ("unchecked" in o ? [o] : []));
  if (unchecked.length && !opts.force) {
    const why = [...new Set(unchecked.map((u) => u.unchecked))]
      .map((w) => {
        const ids = unchecked.filter((u) => u.unchecked === w).map((u) => u.record.attestationId);
        return `${ids.length === 1 ? "the header" : "the headers"} ${ids.join(", ")}: ${w}`;
      })
      .join("; ");
    return {
      ok: false,
      code: "COSIGN_UNCHECKED",
      message: `cannot check that ${unchecked.length === records.length ? (records.length === 1 ? "the header is" : "the headers are") : `${unchecked.length} of the ${records.length} headers ${unchecked.length === 1 ? "is" : "are"}`} not attested on-chain (${why}): where the reason is this node's chain settings (chain.enabled, chain.rpcUrl, chain.chainId, chain.attestationRegistry), fix them and run again; a record of another chain is checked only there. Having made sure on a block explorer that ${unchecked.length === 1 ? "it is not" : "none of them is"} attested, --force releases ${unchecked.length === 1 ? "it" : "them"} unchecked (a header found attested never is); nothing released`,
    };
  }
  const released: Release[] = outcomes.map((o) => ({
    record: o.record,
    onChain: "unchecked" in o ? `unchecked (forced): ${o.unchecked}` : (o as { onChain: string }).onChain,
  }));
  const counts = new Map<string, number>();
  for (const r of released) counts.set(r.onChain, (counts.get(r.onChain) ?? 0) + 1);
  return {
    ok: true,
    records: released,
    summary: [...counts].map(([onChain, n]) => `${n} ${onChain}`).join("; "),
  };
}

/** Releases `records`, each logged (warn: an operator overriding equivocation protection) with who and what. */
export function releaseRecords(opts: {
  storage: Pick<Storage, "releaseCosign">;
  records: Release[];
  by: string;
  logger: Logger;
}): Release[] {
  const released: Release[] = [];
  for (const rel of opts.records) {
    const r = rel.record;
    if (!opts.storage.releaseCosign(r.attestationId)) continue; // released meanwhile
    released.push(rel);
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
        onChain: rel.onChain,
      },
      "co-sign record released by the operator: this node may now sign another header for this period",
    );
  }
  return released;
}
