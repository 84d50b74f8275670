/**
 * Protocol ids (docs/protocol.md): 1–32 ASCII characters of [a-z0-9][a-z0-9._-]*, right-padded
 * with zero bytes into a bytes32. AssemblyScript-compatible (see time.ts).
 */

function isIdChar(c: i32, first: boolean): boolean {
  if (c >= 97 && c <= 122) return true; // a-z
  if (c >= 48 && c <= 57) return true; // 0-9
  if (first) return false;
  return c == 46 || c == 95 || c == 45; // . _ -
}

/** The text of a bytes32 protocol id, or "" when the bytes are not one (the explorer then shows hex). */
export function protocolIdFromBytes32(bytes: Uint8Array): string {
  if (bytes.length != 32) return "";
  let text = "";
  let ended = false;
  for (let i = 0; i < 32; i++) {
    const c: i32 = bytes[i];
    if (c == 0) {
      ended = true;
      continue;
    }
    if (ended || !isIdChar(c, i == 0)) return "";
    text += String.fromCharCode(c);
  }
  return text;
}

/** ISO 3166-1 alpha-3 code of a bytes3 (three capitals), or "" when zero or not a code. */
export function countryCodeFromBytes3(bytes: Uint8Array): string {
  if (bytes.length != 3) return "";
  let text = "";
  for (let i = 0; i < 3; i++) {
    const c: i32 = bytes[i];
    if (c < 65 || c > 90) return "";
    text += String.fromCharCode(c);
  }
  return text;
}
