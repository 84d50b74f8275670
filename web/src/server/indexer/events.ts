/**
 * A contract event as the embedded indexer stores and replays it: decoded with the generated
 * ABIs, arguments in JSON form (bigints as decimal strings, hex lower case), with the block and
 * transaction facts the reducer needs. The same shape is written to the raw log and fed to the
 * reducer, so a rebuild from the log runs exactly the code the live sync ran.
 */
import type { Hex } from "@carbonproof/subgraph/client";

/** The six CarbonProof contracts the indexer reads (names as Ignition and the sdk name them). */
export const INDEXED_CONTRACTS = [
  "DeviceRegistry",
  "OracleSet",
  "AttestationRegistry",
  "CarbonCredits",
  "Marketplace",
  "RetirementCertificates",
] as const;
export type IndexedContract = (typeof INDEXED_CONTRACTS)[number];

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export type IndexedEvent = {
  blockNumber: number;
  blockHash: Hex;
  /** block timestamp, unix seconds */
  timestamp: number;
  transactionHash: Hex;
  /** sender of the transaction, where the reducer needs it (submitter, issuer); null otherwise */
  transactionFrom: Hex | null;
  logIndex: number;
  contract: IndexedContract;
  address: Hex;
  eventName: string;
  args: { [key: string]: JsonValue };
};

/** Decoded viem event arguments → JSON form: bigint → decimal string, hex lower case, arrays and tuples kept. */
export function toJsonArgs(value: unknown): JsonValue {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return /^0x[0-9a-fA-F]*$/.test(value) ? value.toLowerCase() : value;
  if (typeof value === "number" || typeof value === "boolean" || value === null) return value;
  if (value === undefined) return null;
  if (Array.isArray(value)) return value.map(toJsonArgs);
  if (typeof value === "object") {
    const out: { [key: string]: JsonValue } = {};
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = toJsonArgs(v);
    return out;
  }
  throw new Error(`cannot store an event argument of type ${typeof value}`);
}

// Readers of JSON-form arguments: the reducer trusts the ABI's types, these only convert.

export function argBig(args: { [key: string]: JsonValue }, name: string): bigint {
  const v = args[name];
  if (typeof v === "string" || typeof v === "number") return BigInt(v);
  if (typeof v === "boolean") return v ? 1n : 0n;
  throw new Error(`event argument ${name} is missing or not a number`);
}

export function argNum(args: { [key: string]: JsonValue }, name: string): number {
  return Number(argBig(args, name));
}

export function argStr(args: { [key: string]: JsonValue }, name: string): string {
  const v = args[name];
  if (typeof v !== "string") throw new Error(`event argument ${name} is missing or not a string`);
  return v;
}

export function argHex(args: { [key: string]: JsonValue }, name: string): Hex {
  return argStr(args, name).toLowerCase() as Hex;
}

export function argBool(args: { [key: string]: JsonValue }, name: string): boolean {
  const v = args[name];
  if (typeof v !== "boolean") throw new Error(`event argument ${name} is missing or not a boolean`);
  return v;
}

export function argObj(args: { [key: string]: JsonValue }, name: string): { [key: string]: JsonValue } {
  const v = args[name];
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new Error(`event argument ${name} is not a tuple`);
  return v;
}

export function argList(args: { [key: string]: JsonValue }, name: string): JsonValue[] {
  const v = args[name];
  if (!Array.isArray(v)) throw new Error(`event argument ${name} is not a list`);
  return v;
}
