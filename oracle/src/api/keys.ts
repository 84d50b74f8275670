import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { ApiKey, ApiKeyScope, Storage } from "../storage/types.ts";

/** API keys are `cpk_` + 32 random bytes (base64url); only their SHA-256 is stored. */
export function newApiKey(): string {
  return `cpk_${randomBytes(32).toString("base64url")}`;
}

export function hashApiKey(key: string): string {
  return createHash("sha256").update(key, "utf8").digest("hex");
}

/** Creates a key for a facility, a device or an admin; returns the plain key (shown once). */
export function createApiKey(
  storage: Storage,
  opts: { scope: ApiKeyScope; subject: string; label?: string; nowMs?: number },
): { key: string; id: number } {
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
