#!/usr/bin/env node
/**
 * Generates sdk/test-vectors/v1.json: readings, canonical bytes, digests, P-256
 * signatures (RFC 6979, low-s) by a fixed TEST-ONLY key, flue-gas results, Merkle
 * leaves, root and proofs. Deterministic: running it twice gives the same file; the
 * sdk test `test-vectors/v1.json is what the generator produces` holds it to that.
 *
 *   node scripts/vectors.ts           # write the file
 *   node scripts/vectors.ts --check   # exit 1 if the file differs
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { buildTestVectors } from "../src/testVectors.ts";

const path = fileURLToPath(new URL("../test-vectors/v1.json", import.meta.url));
const text = `${JSON.stringify(buildTestVectors(), null, 2)}\n`;
if (process.argv.includes("--check")) {
  const current = readFileSync(path, "utf8");
  if (current !== text) {
    console.error(`${path} is stale: run node sdk/scripts/vectors.ts`);
    process.exit(1);
  }
  console.log(`${path} is up to date`);
} else {
  writeFileSync(path, text);
  console.log(`wrote ${path}`);
}
