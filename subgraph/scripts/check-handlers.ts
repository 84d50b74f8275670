#!/usr/bin/env node
/**
 * `npm run check:handlers -w subgraph`: every event of every generated ABI (dist/abis, written by
 * scripts/generate.ts) has a handler, both in the manifests (dist/subgraph*.yaml) and as an
 * exported function of the contract's mapping file. Fails naming each missing one; says which of
 * the project's contracts it could not check because their artifacts are not on this branch.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { handlerNames, KNOWN_CONTRACTS, manifestEventSignature, mappingFileOf, type AbiEvent } from "./artifacts.ts";

export type Missing = { contract: string; event: string; handler: string; where: string };

export type HandlerReport = {
  contracts: string[];
  events: number;
  missing: Missing[];
  /** known contracts with no generated ABI (their artifacts are not on this branch) */
  unchecked: string[];
};

/** Exported function names of an AssemblyScript mapping file. */
export function exportedFunctions(source: string): Set<string> {
  return new Set([...source.matchAll(/^export\s+function\s+(\w+)\s*\(/gm)].map((m) => m[1]!));
}

/** Event signature → handler of each data source of a generated manifest (its own format, one entry per line pair). */
export function manifestHandlers(manifest: string): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let pendingEvent: string | undefined;
  for (const line of manifest.split("\n")) {
    const name = /^ {4}name: (\S+)$/.exec(line);
    if (name) {
      current = new Map();
      out.set(name[1]!, current);
      continue;
    }
    const event = /^ {8}- event: (".*")$/.exec(line);
    if (event) {
      pendingEvent = JSON.parse(event[1]!) as string;
      continue;
    }
    const handler = /^ {10}handler: (\w+)$/.exec(line);
    if (handler && pendingEvent && current) {
      current.set(pendingEvent, handler[1]!);
      pendingEvent = undefined;
    }
  }
  return out;
}

export function checkHandlers(subgraphDir: string, outDir: string): HandlerReport {
  const abisDir = join(outDir, "abis");
  if (!existsSync(abisDir)) {
    throw new Error(`no generated ABIs in ${abisDir}: run \`npm run generate -w subgraph\` first`);
  }
  const manifests = readdirSync(outDir)
    .filter((f) => /^subgraph(\..+)?\.yaml$/.test(f))
    .map((f) => ({ file: f, handlers: manifestHandlers(readFileSync(join(outDir, f), "utf8")) }));
  const report: HandlerReport = { contracts: [], events: 0, missing: [], unchecked: [] };
  for (const file of readdirSync(abisDir)
    .filter((f) => f.endsWith(".json"))
    .sort()) {
    const contract = file.slice(0, -".json".length);
    const abi = JSON.parse(readFileSync(join(abisDir, file), "utf8")) as { type: string }[];
    const events = abi.filter((x) => x.type === "event") as AbiEvent[];
    report.contracts.push(contract);
    report.events += events.length;
    const mapping = mappingFileOf(contract);
    const mappingPath = join(subgraphDir, mapping);
    const exported = existsSync(mappingPath) ? exportedFunctions(readFileSync(mappingPath, "utf8")) : new Set<string>();
    const names = handlerNames(events);
    for (const e of events) {
      const handler = names.get(e)!;
      if (!exported.has(handler)) {
        report.missing.push({
          contract,
          event: manifestEventSignature(e),
          handler,
          where: existsSync(mappingPath) ? mapping : `${mapping} (file missing)`,
        });
      }
      for (const m of manifests) {
        const ds = m.handlers.get(contract);
        if (ds && ds.get(manifestEventSignature(e)) !== handler) {
          report.missing.push({ contract, event: manifestEventSignature(e), handler, where: `dist/${m.file}` });
        }
      }
    }
  }
  report.unchecked = KNOWN_CONTRACTS.filter((n) => !report.contracts.includes(n));
  return report;
}

function main(): void {
  const subgraphDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const outDir = resolve(process.env.CARBONPROOF_SUBGRAPH_OUT ?? join(subgraphDir, "dist"));
  const r = checkHandlers(subgraphDir, outDir);
  if (r.unchecked.length) {
    process.stdout.write(`check-handlers: not checked, no artifact on this branch: ${r.unchecked.join(", ")}\n`);
  }
  if (r.missing.length) {
    process.stderr.write(`check-handlers: ${r.missing.length} event(s) without a handler:\n`);
    for (const m of r.missing) process.stderr.write(`  ${m.contract}.${m.event}: no ${m.handler} in ${m.where}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    `check-handlers: all ${r.events} events of ${r.contracts.length} contracts (${r.contracts.join(", ")}) have handlers\n`,
  );
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
