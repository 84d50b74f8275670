#!/usr/bin/env node
/**
 * `npm test`: runs every test suite of the repository, one after the other,
 * streams their output, and ends with a table and, as the very last line, the
 * total over every suite: `N passed, N failed[, N skipped]`.
 *
 * Each suite's own runner prints its counts; this script reads them from the
 * runner's closing lines (mocha/Hardhat, node:test, ctest). A suite that exits
 * non-zero without countable failures counts as one failure, so a crash can
 * never pass for green.
 *
 * Flags: `--only name[,name]` runs the named suites; `--list` lists them.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");

type Counts = { passed: number; failed: number; skipped: number };
type Suite = {
  name: string;
  /** Why this suite exists, shown by --list. */
  what: string;
  present: () => boolean;
  command: string;
  args: string[];
  timeoutMinutes: number;
  parse: (output: string) => Counts | undefined;
};

/** Last match of `re` in `text`, as a number. */
function lastNumber(text: string, re: RegExp): number | undefined {
  const all = [...text.matchAll(new RegExp(re.source, re.flags.includes("g") ? re.flags : `${re.flags}g`))];
  const last = all.at(-1);
  return last ? Number(last[1]) : undefined;
}

/** Hardhat 3 prints `N passing (a solidity, b mocha)` after both runners, mocha `N failing`. */
export function parseHardhat(output: string): Counts | undefined {
  const text = stripAnsi(output);
  const passed = lastNumber(text, /^\s*(\d+) passing/m);
  if (passed === undefined) return undefined;
  return {
    passed,
    failed: lastNumber(text, /^\s*(\d+) failing/m) ?? 0,
    skipped: lastNumber(text, /^\s*(\d+) pending/m) ?? 0,
  };
}

/** node:test, spec (`ℹ pass N`) or TAP (`# pass N`) reporter. */
export function parseNodeTest(output: string): Counts | undefined {
  const text = stripAnsi(output);
  const passed = lastNumber(text, /^[#ℹ]\s+pass\s+(\d+)/m);
  if (passed === undefined) return undefined;
  return {
    passed,
    // a cancelled test did not pass: its suite's hook failed, or it ran past its timeout
    failed: (lastNumber(text, /^[#ℹ]\s+fail\s+(\d+)/m) ?? 0) + (lastNumber(text, /^[#ℹ]\s+cancelled\s+(\d+)/m) ?? 0),
    skipped: (lastNumber(text, /^[#ℹ]\s+skipped\s+(\d+)/m) ?? 0) + (lastNumber(text, /^[#ℹ]\s+todo\s+(\d+)/m) ?? 0),
  };
}

/**
 * What each failed node:test test or suite said (TAP reporter), a few lines each: its name, where it
 * is, and its error with the first lines of its stack. `npm test` repeats these at the end of a run,
 * beside the table, where a CI log cut down to its head and tail still shows them. Tests cancelled
 * because their suite failed are named on one line after it.
 */
export function failureDigest(output: string, maxFailures = 20): string[] {
  const lines = stripAnsi(output).split("\n");
  if (!lines.some((l) => /^\s*not ok \d+ - /.test(l))) return specFailureDigest(lines, maxFailures);
  const out: string[] = [];
  const cancelled: string[] = [];
  let shown = 0;
  for (let i = 0; i < lines.length; i++) {
    const head = /^(\s*)not ok \d+ - (.*)$/.exec(lines[i]!);
    if (!head) continue;
    const indent = head[1]!.length;
    const fields: Record<string, string[]> = {};
    let key = "";
    for (let j = i + 1; j < lines.length; j++) {
      const line = lines[j]!;
      const body = line.slice(indent + 2);
      if (body.trim() === "...") break;
      if (body.trim() === "---") continue;
      const field = /^(\w+): ?(.*)$/.exec(body);
      if (field) {
        key = field[1]!;
        const value = field[2] ?? "";
        // a YAML scalar: 'quoted' (a quote doubled inside), or a block (`|-`) on the lines below
        const quoted = /^'(.*)'$/.exec(value);
        fields[key] = value === "" || value === "|-" ? [] : [quoted ? quoted[1]!.replaceAll("''", "'") : value];
      } else if (key && body.startsWith("  ")) fields[key]!.push(body.trim());
      else break;
    }
    const type = fields.failureType?.[0];
    // a suite's "N subtests failed" repeats its tests' failures; a TODO's failure is not one
    if (type === "subtestsFailed" || /#\s*(TODO|SKIP)\b/i.test(head[2]!)) continue;
    if (type === "cancelledByParent") {
      cancelled.push(head[2]!);
      continue;
    }
    if (++shown > maxFailures) continue;
    const where = fields.location?.[0];
    out.push(`✗ ${head[2]}${type ? ` (${type})` : ""}${where ? ` at ${where}` : ""}`);
    for (const e of (fields.error ?? []).slice(0, 6)) out.push(`    ${e}`);
    for (const e of (fields.stack ?? []).slice(0, 4)) out.push(`      ${e}`);
  }
  return closeDigest(out, shown - maxFailures, cancelled);
}

/**
 * `failureDigest` for node:test's spec reporter (the subgraph's choice, and Node 23's default): the
 * blocks of its closing "✖ failing tests:" list, `test at FILE:LINE:COL`, `✖ name (time)`, then
 * the error indented.
 */
function specFailureDigest(lines: string[], maxFailures: number): string[] {
  const start = lines.findLastIndex((l) => /^✖ failing tests:/.test(l));
  if (start < 0) return [];
  const out: string[] = [];
  const cancelled: string[] = [];
  let shown = 0;
  for (let i = start + 1; i < lines.length; i++) {
    const at = /^test at (.+)$/.exec(lines[i]!);
    const head = at && /^✖ (.*?)(?: \([\d.]+m?s\))?$/.exec(lines[i + 1] ?? "");
    if (!at || !head) continue;
    const body: string[] = [];
    for (let j = i + 2; j < lines.length && lines[j]!.startsWith("  "); j++) body.push(lines[j]!.trim());
    if (body.some((l) => l.includes("test did not finish before its parent and was cancelled"))) {
      cancelled.push(head[1]!);
      continue;
    }
    if (/\d+ subtests? failed/.test(body[0] ?? "") || /#\s*(TODO|SKIP)\b/i.test(head[1]!)) continue;
    if (++shown > maxFailures) continue;
    out.push(`✗ ${head[1]} at ${at[1]}`);
    for (const l of body.filter((l) => l && !/^at node:|^at .*\(node:/.test(l)).slice(0, 8)) out.push(`    ${l}`);
  }
  return closeDigest(out, shown - maxFailures, cancelled);
}

/** A digest's closing lines: how many failures it left out, and the tests cancelled, by name. */
function closeDigest(out: string[], leftOut: number, cancelled: string[]): string[] {
  if (leftOut > 0) out.push(`… and ${leftOut} more failures above`);
  if (cancelled.length)
    out.push(`cancelled as their suite failed or timed out (${cancelled.length}): ${cancelled.join("; ")}`);
  return out;
}

/** ctest: `100% tests passed, 0 tests failed out of 12`. */
export function parseCtest(output: string): Counts | undefined {
  const text = stripAnsi(output);
  const m = [...text.matchAll(/(\d+)% tests passed, (\d+) tests? failed out of (\d+)/g)].at(-1);
  if (!m) return undefined;
  const failed = Number(m[2]);
  const total = Number(m[3]);
  const skipped = lastNumber(text, /^\s*(\d+) tests? (?:were|was) skipped/m) ?? 0;
  return { passed: total - failed - skipped, failed, skipped };
}

/** One check = one test: a command whose exit code is the verdict. */
function parseSingle(_output: string): Counts | undefined {
  return { passed: 1, failed: 0, skipped: 0 };
}

function stripAnsi(s: string): string {
  return s.replace(/\x1b\[[0-9;]*m/g, "");
}

const npx = "npx";
const suites: Suite[] = [
  {
    name: "contracts",
    what: "Hardhat: Solidity unit/fuzz/invariant tests and mocha flows on an in-process network",
    present: () => existsSync(join(root, "contracts")),
    command: npx,
    args: ["hardhat", "test"],
    timeoutMinutes: 20,
    parse: parseHardhat,
  },
  {
    name: "generated",
    what: "sdk/src/contracts/generated.ts is what scripts/export-contracts.ts makes from the contracts",
    present: () => existsSync(join(root, "scripts/export-contracts.ts")),
    command: process.execPath,
    args: ["scripts/check-generated.ts"],
    timeoutMinutes: 5,
    parse: parseSingle,
  },
  {
    name: "runner",
    what: "npm test's own reading of the runners' output: counts, cancelled tests, the failure digest (scripts/test-all.ts)",
    present: () => existsSync(join(root, "scripts/test-all.test.ts")),
    command: process.execPath,
    args: ["--test", "--test-reporter=tap", "scripts/test-all.test.ts"],
    timeoutMinutes: 2,
    parse: parseNodeTest,
  },
  {
    name: "lint",
    what: "solhint on contracts/, prettier, TypeScript type checks (after contracts: tsc needs the typechain types the build writes)",
    present: () => existsSync(join(root, "scripts/lint.ts")),
    command: process.execPath,
    args: ["scripts/lint.ts"],
    timeoutMinutes: 5,
    parse: parseNodeTest,
  },
  {
    name: "sdk",
    what: "sdk and carbonproof CLI (node:test)",
    present: () => existsSync(join(root, "sdk/package.json")) && hasTestScript("sdk"),
    command: "npm",
    args: ["test", "--silent", "-w", "sdk"],
    timeoutMinutes: 15,
    parse: parseNodeTest,
  },
  {
    name: "firmware",
    what: "portable firmware core, host-built (CMake + ctest); before the oracle, whose end-to-end test drives the built cp-device",
    present: () => existsSync(join(root, "firmware/test.sh")),
    command: "bash",
    args: ["firmware/test.sh"],
    timeoutMinutes: 15,
    parse: parseCtest,
  },
  {
    name: "oracle",
    what: "oracle node with a real MQTT broker, Helia, SQLite and Hardhat node (node:test)",
    present: () => existsSync(join(root, "oracle/package.json")) && hasTestScript("oracle"),
    command: "npm",
    args: ["test", "--silent", "-w", "oracle"],
    timeoutMinutes: 20,
    parse: parseNodeTest,
  },
  {
    name: "subgraph",
    what: "subgraph: manifest generation, handler coverage, graph codegen + build, mapping logic, GraphQL queries",
    present: () => existsSync(join(root, "subgraph/package.json")) && hasTestScript("subgraph"),
    command: "npm",
    args: ["test", "--silent", "-w", "subgraph"],
    timeoutMinutes: 10,
    parse: parseNodeTest,
  },
  {
    name: "web",
    what: "web app logic (node:test)",
    present: () => existsSync(join(root, "web/package.json")) && hasTestScript("web"),
    command: "npm",
    args: ["test", "--silent", "-w", "web"],
    timeoutMinutes: 5,
    parse: parseNodeTest,
  },
  {
    name: "e2e",
    what: "browser end-to-end: Debian chromium + injected wallet against the local stack, axe-core on every page",
    present: () => existsSync(join(root, "web/e2e/run.ts")),
    command: "npm",
    args: ["run", "--silent", "e2e", "-w", "web"],
    timeoutMinutes: 20,
    parse: parseNodeTest,
  },
  {
    name: "start",
    what: "`npm start` as the README runs it: the whole local stack up on free ports, readings stored, every part (and a step under way) stopped on SIGTERM; the demo's periods at any date (after e2e, whose web build it reuses)",
    present: () => existsSync(join(root, "scripts/start.test.ts")) && existsSync(join(root, "web/package.json")),
    command: process.execPath,
    args: ["--test", "--test-timeout=600000", "scripts/start.test.ts", "scripts/demo-periods.test.ts"],
    timeoutMinutes: 12,
    parse: parseNodeTest,
  },
];

function hasTestScript(workspace: string): boolean {
  try {
    // Read synchronously at start-up; the file is tiny.
    const pkg = JSON.parse(readFileSync(join(root, workspace, "package.json"), "utf8")) as {
      scripts?: Record<string, string>;
    };
    return Boolean(pkg.scripts?.test);
  } catch (cause) {
    throw new Error(`cannot read ${workspace}/package.json: ${String(cause)}`);
  }
}

function run(suite: Suite): Promise<{ code: number | null; output: string; seconds: number; timedOut: boolean }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(suite.command, suite.args, {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let output = "";
    const take = (chunk: Buffer, to: NodeJS.WriteStream) => {
      output += chunk.toString();
      to.write(chunk);
    };
    child.stdout.on("data", (c: Buffer) => take(c, process.stdout));
    child.stderr.on("data", (c: Buffer) => take(c, process.stderr));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      // Kill the whole process group: runners start servers of their own.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch (cause) {
        process.stderr.write(`could not kill suite ${suite.name}: ${String(cause)}\n`);
      }
    }, suite.timeoutMinutes * 60_000);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000, timedOut });
    });
  });
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write("usage: npm test [-- --only lint,contracts,...] [-- --list]\n");
    return;
  }
  if (argv.includes("--list")) {
    for (const s of suites)
      process.stdout.write(`${s.name.padEnd(10)} ${s.present() ? "present" : "absent "}  ${s.what}\n`);
    return;
  }
  const onlyAt = argv.indexOf("--only");
  const only = onlyAt >= 0 ? new Set((argv[onlyAt + 1] ?? "").split(",").filter(Boolean)) : undefined;
  if (only) {
    const unknown = [...only].filter((n) => !suites.some((s) => s.name === n));
    if (unknown.length) {
      process.stderr.write(`unknown suite(s): ${unknown.join(", ")}; run with --list to see them\n`);
      process.exit(2);
    }
  }
  const rows: { name: string; counts: Counts; seconds: number; note: string; failures: string[] }[] = [];
  for (const suite of suites) {
    if (only && !only.has(suite.name)) continue;
    if (!suite.present()) continue;
    process.stdout.write(`\n━━━ suite: ${suite.name} — ${suite.what}\n`);
    const { code, output, seconds, timedOut } = await run(suite);
    let counts = suite.parse(output);
    let note = code === 0 ? "ok" : `exit ${code}`;
    if (timedOut) note = `killed after ${suite.timeoutMinutes} min`;
    if (!counts) {
      counts = { passed: 0, failed: 1, skipped: 0 };
      note += ", no test counts found in its output";
    } else if (code !== 0 && counts.failed === 0) {
      // The runner failed outside any test (a hook, a crash, a timeout): that is a failure.
      counts = { ...counts, failed: 1 };
      note += ", failed outside the counted tests";
    } else if (suite.parse === parseSingle && code !== 0) {
      counts = { passed: 0, failed: 1, skipped: 0 };
    }
    rows.push({ name: suite.name, counts, seconds, note, failures: code === 0 ? [] : failureDigest(output) });
  }
  const total = rows.reduce(
    (t, r) => ({
      passed: t.passed + r.counts.passed,
      failed: t.failed + r.counts.failed,
      skipped: t.skipped + r.counts.skipped,
    }),
    { passed: 0, failed: 0, skipped: 0 },
  );
  for (const r of rows.filter((r) => r.failures.length)) {
    process.stdout.write(`\n━━━ what failed in ${r.name} (repeated from its output above)\n${r.failures.join("\n")}\n`);
  }
  process.stdout.write("\n suite       passed  failed  skipped   seconds  note\n");
  for (const r of rows) {
    process.stdout.write(
      ` ${r.name.padEnd(10)} ${String(r.counts.passed).padStart(7)} ${String(r.counts.failed).padStart(7)} ${String(r.counts.skipped).padStart(8)} ${r.seconds.toFixed(1).padStart(9)}  ${r.note}\n`,
    );
  }
  process.stdout.write(
    `${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}\n`,
  );
  process.exitCode = total.failed > 0 || rows.length === 0 ? 1 : 0;
}

// run as a program, not when a test imports the parsers (argv[1] taken through symlinks, as Node does for import.meta.url)
if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) await main();
