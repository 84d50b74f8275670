import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { isValidId } from "../../../sdk/src/ids.ts";
import { textFieldProblem } from "../text.ts";
import type { ApiKey, ApiKeyScope, Storage } from "../storage/types.ts";

/** API keys are `cpk_` + 32 random bytes (base64url); only their SHA-256 is stored. */
export function newApiKey(): string {
  return `cpk_${randomBytes(32).toString("base64url")}`;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/**
 * Whether an `oracle` key's subject is a node's address (`0x` and 40 hex digits, any case): the
 * chain address of the node the key was issued to, `carbonproof-oracle keys show` on that node.
 * A co-sign request made with the key is for a header that node signed itself (quorum/cosigner.ts).
 */
export function isNodeAddress(subject: string): boolean {
  return /^0x[0-9a-fA-F]{40}$/.test(subject);
}

/**
 * What is wrong with a key's subject or label, or null. A facility or device key's subject is the
 * id the readings carry (docs/protocol.md "Identifiers"): any other would make a key that can
 * submit nothing. An `oracle` key's is the address of the node it is for (`isNodeAddress`): an
 * oracle key that named no node could ask for any active node's headers, replayed.
 */
export function apiKeyFieldsProblem(opts: { scope: ApiKeyScope; subject: string; label?: string }): string | null {
  if ((opts.scope === "facility" || opts.scope === "device") && !isValidId(opts.subject))
    return `subject ${JSON.stringify(opts.subject)} is not a ${opts.scope} id: use 1–32 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit`;
  if (!opts.subject.trim()) return "subject is empty: give the node or admin the key is for";
  // "*" names the configured admin token in logs and in the principal of manual entries
  if (opts.subject.trim() === "*")
    return 'subject "*" is reserved for the admin token (http.adminTokenSha256): give the node or admin the key is for';
  const subject = textFieldProblem("subject", opts.subject, 128);
  if (subject) return subject;
  if (opts.scope === "oracle" && !isNodeAddress(opts.subject))
    return `subject ${JSON.stringify(opts.subject)} is not a node's address: an oracle key's subject is the chain address of the node it is for (0x and 40 hex digits; \`carbonproof-oracle keys show\` on that node prints it), and that node may then ask for co-signatures of its own headers only`;
  return opts.label === undefined ? null : textFieldProblem("label", opts.label, 200);
}

/**
 * Creates a key for a facility, a device, an admin or another oracle node (its subject that node's
 * address); returns the plain key (shown once). A subject or label that `apiKeyFieldsProblem`
 * refuses throws `BAD_API_KEY` (400).
 */
export function createApiKey(
  storage: Storage,
  opts: { scope: ApiKeyScope; subject: string; label?: string; nowMs?: number },
): { key: string; id: number } {
  const problem = apiKeyFieldsProblem(opts);
  if (problem) throw Object.assign(new Error(problem), { statusCode: 400, code: "BAD_API_KEY" });
  const key = newApiKey();
  const id = storage.addApiKey({
    label: opts.label ?? `${opts.scope}:${opts.subject}`,
    scope: opts.scope,
    subject: opts.subject,
    hash: hashApiKey(key),
    createdAtMs: opts.nowMs ?? Date.now(),
  });
  return { key, id };
}

/** The key's record when the presented key is valid and not revoked. */
export function authenticate(storage: Storage, presented: string | undefined): ApiKey | null {
  if (!presented || !presented.startsWith("cpk_") || presented.length > 200) return null;
  return storage.findApiKey(hashApiKey(presented));
}

/** Constant-time check of an admin token against its configured SHA-256. */
export function adminTokenMatches(presented: string | undefined, sha256Hex: string | undefined): boolean {
  if (!presented || !sha256Hex) return false;
  const a = Buffer.from(hashApiKey(presented), "hex");
  const b = Buffer.from(sha256Hex, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
