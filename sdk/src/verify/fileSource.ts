import { readFile } from "node:fs/promises";
import type { BundleSource } from "./sources.ts";

/** A bundle in a local file (Node only). The CID is checked by the verifier, not here. */
export function fileSource(path: string): BundleSource {
  return { describe: `file ${path}`, byCid: false, get: async () => new Uint8Array(await readFile(path)) };
}
