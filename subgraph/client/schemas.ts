/** The zod schemas of graph-node's scalars, shared by the subgraph backend's response schemas. */
import { z } from "zod";
import type { Hex } from "./types.ts";

/** graph-node's BigInt: a decimal string, read as bigint. */
export const bigintString = z
  .string()
  .regex(/^-?\d+$/, "a BigInt is a decimal string")
  .transform((s) => BigInt(s));

/** graph-node's Bytes: 0x-hex, lower-cased. */
export const hex = z
  .string()
  .regex(/^0x[0-9a-fA-F]*$/, "Bytes are 0x-hex")
  .transform((s) => s.toLowerCase() as Hex);

export const facilityRef = z.object({ id: hex, code: z.string().nullable() });
