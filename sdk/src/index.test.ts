import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

/** Every local module reachable from `from` by static imports. */
function graph(from: string, seen = new Set<string>()): Set<string> {
  if (seen.has(from)) return seen;
  seen.add(from);
  const text = readFileSync(from, "utf8");
  for (const m of text.matchAll(/(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']/g))
    graph(resolve(dirname(from), m[1]!), seen);
  return seen;
}

test("the browser entry (index.ts) reaches no node: module and no node-only sdk file", () => {
  const files = graph(fileURLToPath(new URL("./index.ts", import.meta.url)));
  assert.ok(files.size > 20);
  for (const file of files) {
    const text = readFileSync(file, "utf8");
    assert.doesNotMatch(text, /from\s+["']node:/, `${file} imports a node: module`);
    assert.doesNotMatch(text, /\bBuffer\.|\bprocess\./, `${file} uses a Node global`);
    assert.ok(!file.includes("/cli/") && !file.endsWith("fileSource.ts"), `${file} is node-only`);
  }
});

test("the node entry re-exports the browser entry and adds fileSource", async () => {
  const node = await import("./node.ts");
  const browser = await import("./index.ts");
  for (const key of Object.keys(browser)) assert.ok(key in node, key);
  assert.equal(typeof node.fileSource, "function");
});
