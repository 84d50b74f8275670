/**
 * A failed chain read is shown in words: every view passes a query's error through describeError
 * (errors.ts), which names the node that did not answer or the contract error, where viem's own
 * message is a page of request details. Checked over the sources, since no view renders here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const src = join(dirname(fileURLToPath(import.meta.url)), "..");

function* views(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* views(path);
    else if (entry.name.endsWith(".tsx")) yield path;
  }
}

test("no view prints a query's raw error message (q.error.message): describeError(q.error).message", () => {
  const raw: string[] = [];
  for (const file of views(src)) {
    readFileSync(file, "utf8")
      .split("\n")
      .forEach((line, i) => {
        if (/\b\w+\.error\??\.message\b/.test(line)) raw.push(`${relative(src, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  assert.deepEqual(raw, [], `raw error messages shown:\n${raw.join("\n")}`);
});
