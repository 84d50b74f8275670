/** Protocol ids (docs/protocol.md) as the subgraph keys them: bytes32 hex, lower case. */
import { IndexerError } from "./errors.ts";
import type { Hex } from "./types.ts";

const PROTOCOL_ID = /^[a-z0-9][a-z0-9._-]{0,31}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;

/** Whether `text` is a protocol id (not its bytes32 form). */
export function isProtocolId(text: string): boolean {
  return PROTOCOL_ID.test(text);
}

/** `ktda-kangaita` → 0x6b7464612d6b616e6761697461000…; a bytes32 hex passes through (lower-cased). */
export function protocolIdKey(idOrHex: string): Hex {
  if (BYTES32.test(idOrHex)) return idOrHex.toLowerCase() as Hex;
  if (!PROTOCOL_ID.test(idOrHex)) {
    throw new IndexerError(
      "INDEXER_ARGUMENT_INVALID",
      `"${idOrHex}" is neither a protocol id (1–32 of [a-z0-9][a-z0-9._-]*) nor a bytes32 hex`,
    );
  }
  let hex = "";
  for (let i = 0; i < idOrHex.length; i++) hex += idOrHex.charCodeAt(i).toString(16).padStart(2, "0");
  return `0x${hex.padEnd(64, "0")}`;
}
