import { SdkError } from "./errors.ts";

/** A 0x-prefixed hex string (same shape as viem's `Hex`). */
export type Hex = `0x${string}`;

const HEX_CHARS = "0123456789abcdef";
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, i) => HEX_CHARS[i >> 4]! + HEX_CHARS[i & 15]!);

/** Lowercase 0x-hex of `bytes[offset, offset+length)`. */
export function bytesToHex(bytes: Uint8Array, offset = 0, length = bytes.length - offset): Hex {
  let out = "0x";
  for (let i = offset; i < offset + length; i++) out += BYTE_TO_HEX[bytes[i]!];
  return out as Hex;
}

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 102) return code - 87;
  if (code >= 65 && code <= 70) return code - 55;
  return -1;
}

/**
 * Bytes of a hex string (with or without 0x, either case). When `size` is given the
 * input must be exactly that many bytes.
 */
export function hexToBytes(hex: string, size?: number): Uint8Array {
  const body = hex.startsWith("0x") || hex.startsWith("0X") ? hex.slice(2) : hex;
  if (body.length % 2 !== 0) {
    throw new SdkError(`Hex string has an odd number of digits (${body.length}); pad it to whole bytes.`, {
      code: "INVALID_HEX",
    });
  }
  const out = new Uint8Array(body.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = nibble(body.charCodeAt(2 * i));
    const lo = nibble(body.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) {
      throw new SdkError(`Invalid hex digit near position ${2 * i} in "${hex.slice(0, 80)}".`, { code: "INVALID_HEX" });
    }
    out[i] = (hi << 4) | lo;
  }
  if (size !== undefined && out.length !== size) {
    throw new SdkError(`Expected ${size} bytes of hex, got ${out.length}.`, { code: "INVALID_HEX" });
  }
  return out;
}

/** Bytes or hex to bytes. */
export function toBytes(value: Uint8Array | string, size?: number): Uint8Array {
  if (typeof value === "string") return hexToBytes(value, size);
  if (size !== undefined && value.length !== size) {
    throw new SdkError(`Expected ${size} bytes, got ${value.length}.`, { code: "INVALID_HEX" });
  }
  return value;
}

/** Byte-wise comparison (-1, 0, 1), as OpenZeppelin's `compare` and Solidity's `a < b` on bytes32. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
