import { SdkError } from "./errors.ts";
import { bytesToHex, hexToBytes, type Hex } from "./hex.ts";

/** Facility and device ids: 1–32 chars of `[a-z0-9][a-z0-9._-]*` (docs/protocol.md "Identifiers"). */
export const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,31}$/;

/** True when `id` is a valid facility/device id. */
export function isValidId(id: string): boolean {
  return ID_PATTERN.test(id);
}

/** Throws `INVALID_ID` unless `id` is a valid facility/device id. */
export function assertValidId(id: string, what = "id"): void {
  if (!isValidId(id)) {
    throw new SdkError(
      `Invalid ${what} ${JSON.stringify(id)}: use 1–32 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit.`,
      { code: "INVALID_ID", docsPath: "docs/protocol.md#identifiers" },
    );
  }
}

/** `bytes32` of an id: its ASCII bytes right-padded with zeros (= viem `stringToHex(id, { size: 32 })`). */
export function idToBytes32(id: string): Hex {
  assertValidId(id);
  const out = new Uint8Array(32);
  for (let i = 0; i < id.length; i++) out[i] = id.charCodeAt(i);
  return bytesToHex(out);
}

/** The id back from its `bytes32`; throws `INVALID_ID` when the bytes are not a valid padded id. */
export function bytes32ToId(value: Hex | Uint8Array): string {
  const bytes = typeof value === "string" ? hexToBytes(value, 32) : value;
  if (bytes.length !== 32) {
    throw new SdkError(`An id is 32 bytes on-chain, got ${bytes.length}.`, { code: "INVALID_ID" });
  }
  let end = bytes.indexOf(0);
  if (end === -1) end = 32;
  for (let i = end; i < 32; i++) {
    if (bytes[i] !== 0) {
      throw new SdkError(`bytes32 ${bytesToHex(bytes)} is not a zero-padded id (non-zero byte after padding).`, {
        code: "INVALID_ID",
        docsPath: "docs/protocol.md#identifiers",
      });
    }
  }
  const id = String.fromCharCode(...bytes.subarray(0, end));
  assertValidId(id);
  return id;
}
