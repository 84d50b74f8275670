/** Parses a token, listing or certificate id from a URL segment: decimal digits only, < 2^256. */
export function parseUintId(text: string): bigint | undefined {
  if (!/^\d{1,78}$/.test(text)) return undefined;
  const v = BigInt(text);
  return v < 1n << 256n ? v : undefined;
}

/** `tokenId = projectId << 16 | vintage` (CarbonCredits.tokenIdOf). */
export function decodeCreditId(tokenId: bigint): { projectId: bigint; vintage: number } {
  return { projectId: tokenId >> 16n, vintage: Number(tokenId & 0xffffn) };
}

/** `certificateId = creditId << 64 | n` (CarbonCredits._retire). */
export function decodeCertificateId(certificateId: bigint): { creditId: bigint; retirement: bigint } {
  return { creditId: certificateId >> 64n, retirement: certificateId & 0xffff_ffff_ffff_ffffn };
}

/** A facility as the explorer names it: its protocol id (e.g. ktda-kangaita) or its bytes32 key. */
export function isFacilityRef(v: string): boolean {
  return /^[a-z0-9][a-z0-9._-]{0,31}$/.test(v) || /^0x[0-9a-fA-F]{64}$/.test(v);
}

/** A CarbonCredits project id from a URL (uint40, numbered from 1), or what is wrong with `raw`. */
export function parseProjectId(raw: string): number | string {
  if (!/^[0-9]{1,13}$/.test(raw)) return `“${raw}” is not a project id: project ids are decimal numbers, from 1.`;
  const n = Number(raw);
  if (n < 1 || n >= 2 ** 40) return `${raw} is not a project id: project ids run from 1 to 2^40 − 1.`;
  return n;
}
