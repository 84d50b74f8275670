/**
 * What /verify is working on, as pure state transitions (VerifyView keeps the state). One input at a
 * time: an id, a pasted JSON or a file is taken only while nothing else is looked up, read or
 * checked, and each one taken gets a ticket. An answer that arrives under a ticket no longer current
 * (a lookup or a walk that something newer replaced) changes nothing, so a stale result can never
 * overwrite a newer one.
 *
 * The sdk's walk (verifyLineage) takes no AbortSignal, so a running check cannot be stopped, only
 * abandoned while it keeps the browser busy: the page lets it finish instead.
 */
import type { LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import type { AuditKind } from "../../lib/audit/target.ts";

/** An input made into something to walk. */
export type VerifyInput = {
  target: LineageTarget;
  /** what the result heading names: "attestation 0x…", "file bundle.json (1,234 bytes)" */
  what: string;
  /** the audit trail page of an id */
  audit?: { kind: AuditKind; id: string };
  /** how to check it again when the walk cannot finish */
  again: string;
};

/** The walk shown, under the ticket of its input (Lineage's key). */
export type VerifyRun = VerifyInput & { n: number };

export type VerifyStage = "looking-up" | "reading" | "checking";

export type VerifyState = {
  /** The last ticket handed out. */
  last: number;
  /** The input being worked on; while set, no other input is taken. */
  busy?: { ticket: number; stage: VerifyStage; what: string };
  run?: VerifyRun;
  /** Why the last input gave nothing to walk. */
  problem?: string;
};

export const IDLE: VerifyState = { last: 0 };

/**
 * Takes an input to look up or read: the state with it and its ticket, or the state unchanged and
 * no ticket while another input is being worked on.
 */
export function begin(
  s: VerifyState,
  stage: Exclude<VerifyStage, "checking">,
  what: string,
): { state: VerifyState; ticket?: number } {
  if (s.busy) return { state: s };
  const ticket = s.last + 1;
  // the last problem goes; the last walk stays shown until this input replaces it
  return { state: { last: ticket, busy: { ticket, stage, what }, ...(s.run ? { run: s.run } : {}) }, ticket };
}

/**
 * The input under `ticket` looked up or read: its walk starts (and replaces the one shown), or the
 * sentence saying why there is nothing to walk is shown. Ignored unless `ticket` is being prepared.
 */
export function prepared(s: VerifyState, ticket: number, input: VerifyInput | string): VerifyState {
  if (s.busy?.ticket !== ticket || s.busy.stage === "checking") return s;
  if (typeof input === "string") return { last: s.last, problem: input };
  return { last: s.last, busy: { ticket, stage: "checking", what: input.what }, run: { ...input, n: ticket } };
}

/** The walk of `ticket` ended, verdict or error: the page takes inputs again. Ignored unless it is the one running. */
export function ended(s: VerifyState, ticket: number): VerifyState {
  if (s.busy?.ticket !== ticket || s.busy.stage !== "checking") return s;
  return { last: s.last, ...(s.run ? { run: s.run } : {}) };
}
