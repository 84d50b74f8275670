#!/usr/bin/env node
/**
 * `npm run bench:explorer` (issue 8): the explorer and the audit trail at scale.
 *
 *   1. The e2e stack (web/e2e/stack.ts: Hardhat node, Ignition, seed-demo, `next start` on
 *      free ports) plus the large scenario of bench/explorer-seed.ts: 100 attestations of
 *      1,000 signed readings, one credit backed by 10 of them (10,000 readings) listed,
 *      bought and retired.
 *   2. The web app's embedded indexer catches up (timed): until searches for a reading of the
 *      scenario's first and of its last attestation, and for the retirement transaction, each
 *      land on a page.
 *   3. Explorer list pages: after a warm-up, N rounds of timed sequential GETs, each page once
 *      a round (whole body read), p50/p95 per page and p95 over all of them.
 *   4. The lineage page of the retirement certificate (and of the credit) in headless
 *      chromium: `data-verify-ms` of `[data-testid=lineage]` once `data-state="done"`
 *      (the page's own measure, from the start of its checks to the last verdict), with
 *      the verdicts, over several fresh browser contexts; median and max.
 *
 * Prints a table (with the machine's load) and, last line, `{"lineageVerifyMs":…,"listP95Ms":…}`
 * (median lineage verification of the certificate; p95 over all list pages). No thresholds are
 * enforced here, but a run whose figures would not mean what they say exits 1 (after the table
 * and the JSON), with the figure null: listP95Ms when a list page answered other than 200/307;
 * lineageVerifyMs when a certificate run failed to load, showed a FAIL verdict, had data-ok other
 * than "true" or no numeric data-verify-ms (the same on the credit's page fails the run too).
 *
 * Options: --runs N (list GETs per page, 50), --lineage-runs N (5), --attestations N (100),
 * --readings N (per attestation, 1000). Uses NEXT_DIST_DIR's build when set (see docs/web.md);
 * CARBONPROOF_E2E_BUILD=never keeps an existing build even when sources are newer.
 */
import { cpus, loadavg, totalmem } from "node:os";
import { performance } from "node:perf_hooks";
import { chromium, type Browser } from "playwright-core";
import { CHROMIUM_ARGS, CHROMIUM_PATH, startStack, type Stack } from "../web/e2e/stack.ts";
import { seedExplorerScenario, type ExplorerScenario } from "./explorer-seed.ts";

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const RUNS = opt("runs", 50);
const WARMUP = 3;
const LINEAGE_RUNS = opt("lineage-runs", 5);
const ATTESTATIONS = opt("attestations", 100);
const READINGS = opt("readings", 1000);
const INDEX_TIMEOUT_MS = 15 * 60_000;
const LINEAGE_TIMEOUT_MS = 5 * 60_000;
/** --only-lineage: skip the list pages; --profile FILE: a CDP CPU profile of one certificate lineage run. */
const ONLY_LINEAGE = args.includes("--only-lineage");
const PROFILE = (() => {
  const i = args.indexOf("--profile");
  return i >= 0 ? args[i + 1] : undefined;
})();

const started = Date.now();
const log = (line: string) =>
  process.stderr.write(`[bench:explorer ${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

const quantile = (sorted: number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "—");
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" / ");

/** Where a GET ends after redirects: the search lands on the page of its single hit. */
async function landing(url: string): Promise<{ status: number; path: string }> {
  const res = await fetch(url);
  await res.arrayBuffer();
  return { status: res.status, path: new URL(res.url).pathname };
}

async function waitIndexed(stack: Stack, scenario: ExplorerScenario): Promise<number> {
  const t0 = performance.now();
  // Bundles are indexed newest first (web/src/server/indexer/bundles.ts): the oldest of the scenario's
  // bundles (its first attestation, which holds sampleDigest) is the last to be searchable.
  const probes = [scenario.lastDigest, scenario.sampleDigest, scenario.retirementTx].map(
    (q) => `${stack.webUrl}/explorer/search?q=${encodeURIComponent(q)}`,
  );
  let last = "";
  while (performance.now() - t0 < INDEX_TIMEOUT_MS) {
    const results = await Promise.all(probes.map(landing));
    last = results.map((r) => `${r.status} ${r.path}`).join(", ");
    if (results.every((r) => r.status === 200 && !r.path.startsWith("/explorer/search"))) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `the indexer did not catch up within ${INDEX_TIMEOUT_MS / 60_000} min: searches for the last reading digest, ` +
      `the first one and the retirement tx still end at ${last}`,
  );
}

type ListResult = { page: string; status: number; samples: number[]; bytes: number; failed: boolean };

/**
 * Sequential GETs in rounds, each round every page once (round-robin), so that whatever the
 * server does in the background (indexer polls, GC) falls on all pages alike rather than on
 * whichever page happens to be measured first. A page that answers neither 200 nor 307 (a
 * search with one hit redirects to its page; that response is what is timed) is marked failed
 * and no longer requested: the run fails and has no listP95Ms.
 */
async function timeLists(webUrl: string, paths: string[]): Promise<ListResult[]> {
  const results: ListResult[] = paths.map((page) => ({ page, status: 0, samples: [], bytes: 0, failed: false }));
  const get = async (r: ListResult) => {
    const t = performance.now();
    const res = await fetch(`${webUrl}${r.page}`, { redirect: "manual" });
    const body = await res.arrayBuffer();
    const elapsed = performance.now() - t;
    r.status = res.status;
    r.bytes = body.byteLength;
    return res.status === 200 || res.status === 307 ? elapsed : undefined;
  };
  for (let round = 0; round < WARMUP + RUNS; round++)
    for (const r of results) {
      if (r.failed) continue;
      const elapsed = await get(r);
      if (elapsed === undefined) r.failed = true;
      else if (round >= WARMUP) r.samples.push(elapsed);
    }
  for (const r of results) r.samples.sort((x, y) => x - y);
  return results;
}

const labelOf = (page: string) =>
  page.startsWith("/explorer/search") ? "/explorer/search?q=<reading digest> (307)" : page;

type LineageRun = {
  /** data-verify-ms as a number; NaN when the attribute is missing or not a number */
  verifyMs: number;
  /** the attribute as the page set it (null: missing) */
  verifyMsAttr: string | null;
  wallMs: number;
  ok: string | null;
  links: number;
  pass: number;
  fail: number;
  /** the page's own one-line summary (it names the signature verifier it used) */
  summary: string;
};

async function timeLineage(browser: Browser, url: string, runs: number): Promise<LineageRun[] | string> {
  const out: LineageRun[] = [];
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    try {
      const t = performance.now();
      const res = await page.goto(url, { timeout: 60_000 });
      if (!res || res.status() !== 200) return `HTTP ${res?.status() ?? "no response"} for ${url}`;
      const lineage = page.locator('[data-testid="lineage"][data-state="done"]');
      await lineage.waitFor({ timeout: LINEAGE_TIMEOUT_MS });
      const wallMs = performance.now() - t;
      const verifyMsAttr = await lineage.getAttribute("data-verify-ms");
      // Number(null) and Number("") are 0: a missing attribute must not read as 0 ms
      const verifyMs = verifyMsAttr === null || verifyMsAttr.trim() === "" ? NaN : Number(verifyMsAttr);
      const ok = await lineage.getAttribute("data-ok");
      const verdicts = await page
        .locator("[data-link][data-verdict]")
        .evaluateAll((els) => els.map((e) => e.getAttribute("data-verdict")));
      out.push({
        verifyMs,
        verifyMsAttr,
        wallMs,
        ok,
        links: verdicts.length,
        pass: verdicts.filter((v) => v === "PASS").length,
        fail: verdicts.filter((v) => v === "FAIL").length,
        summary: (await lineage.getByRole("status").first().innerText()).trim(),
      });
    } catch (cause) {
      return `${url}: ${(cause as Error).message.split("\n")[0]}`;
    } finally {
      await context.close();
    }
  }
  return out;
}

/**
 * Why a lineage's timings do not stand: it failed to load, a run showed a FAIL verdict, had
 * data-ok other than "true", or no numeric data-verify-ms. Empty when they stand.
 */
function lineageProblems(runs: LineageRun[] | string): string[] {
  if (typeof runs === "string") return [runs];
  return runs.flatMap((r, i) => [
    ...(r.fail > 0 ? [`run ${i + 1}: ${r.fail} FAIL verdicts`] : []),
    ...(r.ok !== "true" ? [`run ${i + 1}: data-ok ${r.ok ?? "missing"}`] : []),
    ...(Number.isFinite(r.verifyMs) ? [] : [`run ${i + 1}: data-verify-ms ${r.verifyMsAttr ?? "missing"}`]),
  ]);
}

/**
 * One lineage run under the CDP CPU profiler (the page's main thread): writes the .cpuprofile
 * (open it in Chrome DevTools) and logs the functions with the most self time.
 */
async function profileLineage(browser: Browser, url: string, file: string): Promise<void> {
  const { writeFile } = await import("node:fs/promises");
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  try {
    // Warm the page's chunks first so the profile shows the walk, not compilation of the route.
    await page.goto(url, { timeout: 60_000 });
    await page.locator('[data-testid="lineage"][data-state="done"]').waitFor({ timeout: LINEAGE_TIMEOUT_MS });
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
    await page.reload({ timeout: 60_000 });
    const lineage = page.locator('[data-testid="lineage"][data-state="done"]');
    await lineage.waitFor({ timeout: LINEAGE_TIMEOUT_MS });
    const { profile } = (await cdp.send("Profiler.stop")) as unknown as {
      profile: {
        nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
        samples: number[];
        timeDeltas: number[];
      };
    };
    await writeFile(file, JSON.stringify(profile));
    const self = new Map<number, number>();
    profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
    const byName = new Map<string, number>();
    for (const n of profile.nodes) {
      const f = n.callFrame;
      const key = `${f.functionName || "(anonymous)"} ${f.url.split("/").pop()}:${f.lineNumber}`;
      byName.set(key, (byName.get(key) ?? 0) + (self.get(n.id) ?? 0));
    }
    const total = [...byName.values()].reduce((a, b) => a + b, 0);
    log(
      `profile of ${url}: verify ${await lineage.getAttribute("data-verify-ms")} ms, ${(total / 1000).toFixed(0)} ms sampled, written to ${file}`,
    );
    for (const [name, us] of [...byName].sort((a, b) => b[1] - a[1]).slice(0, 40))
      log(`  ${(us / 1000).toFixed(1).padStart(8)} ms  ${name}`);
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const loadBefore = load();
  let scenario: ExplorerScenario | undefined;
  const stack = await startStack(log, {
    seed: async ({ rpcUrl, addressesFile, webDir }) => {
      log(`seeding the large scenario: ${ATTESTATIONS} attestations × ${READINGS} readings`);
      scenario = await seedExplorerScenario({
        rpc: rpcUrl,
        addresses: addressesFile,
        out: webDir,
        attestations: ATTESTATIONS,
        readingsPerAttestation: READINGS,
        log,
      });
    },
  });
  let browser: Browser | undefined;
  try {
    const s = scenario!;
    log(`stack up: ${stack.webUrl} (${JSON.stringify(stack.timings)})`);
    log(`credit ${s.creditTokenId} (${s.creditReadings} readings), certificate ${s.certificateId}`);
    const indexMs = await waitIndexed(stack, s);
    log(`indexer caught up in ${(indexMs / 1000).toFixed(1)} s`);

    const lists = [
      "/explorer/facilities",
      "/explorer/attestations",
      "/explorer/devices",
      "/explorer/issuances",
      "/explorer/transfers",
      "/explorer/sales",
      "/explorer/retirements",
      "/explorer/listings",
      "/explorer/challenges",
      "/explorer/oracles",
      `/explorer/search?q=${s.sampleDigest}`,
    ];
    log(`timing ${lists.length} list pages: ${WARMUP} warm-up + ${RUNS} rounds`);
    const listResults = ONLY_LINEAGE ? [] : await timeLists(stack.webUrl, lists);
    const all = listResults.flatMap((r) => r.samples).sort((a, b) => a - b);
    const failedLists = listResults.filter((r) => r.failed);
    // over every page or not at all: a p95 without the pages that failed would flatter it
    const listP95Ms = failedLists.length ? NaN : quantile(all, 0.95);

    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
    if (PROFILE) await profileLineage(browser, `${stack.webUrl}/audit/certificate/${s.certificateId}`, PROFILE);
    const certificate = await timeLineage(
      browser,
      `${stack.webUrl}/audit/certificate/${s.certificateId}`,
      LINEAGE_RUNS,
    );
    const credit = await timeLineage(
      browser,
      `${stack.webUrl}/audit/credit/${s.creditTokenId}`,
      Math.max(1, Math.ceil(LINEAGE_RUNS / 2)),
    );
    const loadAfter = load();

    // ---- report
    const rows: string[] = [];
    rows.push(`explorer benchmark — ${new Date().toISOString()}`);
    rows.push(
      `machine: ${cpus().length} CPU (${cpus()[0]?.model.trim() ?? "?"}), ${(totalmem() / 2 ** 30).toFixed(1)} GiB; ` +
        `load average (1/5/15 min) before ${loadBefore}, after ${loadAfter}`,
    );
    rows.push(
      `scenario: ${s.attestations} attestations, ${s.readings.toLocaleString("en")} readings, ${s.devices} devices in ` +
        `${s.facilities.length} facilities (+ seed-demo), ${(s.bundleBytes / 2 ** 20).toFixed(1)} MiB of bundles; ` +
        `seeded in ${(s.seedMs / 1000).toFixed(1)} s`,
    );
    rows.push(
      `credit ${s.creditTokenId}: ${s.creditAttestationIds.length} attestations, ${s.creditReadings.toLocaleString("en")} readings, ` +
        `${s.creditKg} kg retired as certificate ${s.certificateId}`,
    );
    rows.push(`indexing (embedded indexer, from web app start to caught up): ${(indexMs / 1000).toFixed(1)} s`);
    rows.push("");
    rows.push(`list pages: ${WARMUP} warm-up + ${RUNS} rounds of sequential GETs, every page once a round, ms`);
    const pad = (x: string, n: number) => x.padEnd(n);
    const lpad = (x: string, n: number) => x.padStart(n);
    rows.push(
      `  ${pad("page", 40)} ${lpad("HTTP", 5)} ${lpad("KiB", 7)} ${lpad("p50", 8)} ${lpad("p95", 8)} ${lpad("max", 8)}`,
    );
    for (const r of listResults) {
      const label = labelOf(r.page);
      rows.push(
        `  ${pad(label, 40)} ${lpad(String(r.status), 5)} ${lpad((r.bytes / 1024).toFixed(0), 7)} ` +
          `${lpad(ms(quantile(r.samples, 0.5)), 8)} ${lpad(ms(quantile(r.samples, 0.95)), 8)} ${lpad(ms(r.samples.at(-1) ?? NaN), 8)}`,
      );
    }

    // a page without samples (none timed, or failed) never counts as the slowest
    const p95Of = (r: ListResult) => (r.samples.length ? quantile(r.samples, 0.95) : -Infinity);
    const worst: ListResult = listResults.reduce((w, r) => (p95Of(r) > p95Of(w) ? r : w), {
      page: "—",
      status: 0,
      samples: [],
      bytes: 0,
      failed: false,
    });
    rows.push(
      `  ${pad("all pages", 40)} ${lpad("", 5)} ${lpad("", 7)} ${lpad(ms(quantile(all, 0.5)), 8)} ${lpad(ms(listP95Ms), 8)} ${lpad(ms(all.at(-1) ?? NaN), 8)}` +
        (failedLists.length
          ? `   (no p95: failed ${failedLists.map((r) => `${labelOf(r.page)} HTTP ${r.status}`).join(", ")})`
          : ""),
    );
    rows.push(
      `  slowest page at p95: ${labelOf(worst.page)} ${ms(quantile(worst.samples, 0.95))} ms (issue 8 asks < 300 ms)`,
    );
    rows.push("");
    rows.push(
      "lineage in headless chromium (data-verify-ms = the page's checks, first to last verdict; wall = navigation to done)",
    );
    const lineageRow = (name: string, runs: LineageRun[] | string) => {
      if (typeof runs === "string") return `  ${pad(name, 40)} FAILED: ${runs}`;
      const v = runs.map((r) => r.verifyMs);
      const w = runs.map((r) => r.wallMs);
      const r0 = runs[0]!;
      return (
        `  ${pad(name, 40)} runs ${runs.length}, verify median ${ms(median(v))} max ${ms(Math.max(...v))}, ` +
        `wall median ${ms(median(w))}; data-ok ${[...new Set(runs.map((r) => r.ok))].join("/")}, ` +
        `${r0.links} links: ${r0.pass} PASS, ${r0.fail} FAIL\n    page says: ${r0.summary}`
      );
    };
    rows.push(lineageRow(`/audit/certificate/<id>`, certificate));
    rows.push(lineageRow(`/audit/credit/${s.creditTokenId}`, credit));
    rows.push("  (issue 8 asks < 3 s for the lineage of a credit backed by 10,000 readings)");
    const certificateProblems = lineageProblems(certificate);
    const problems = [
      ...failedLists.map((r) => `list page ${labelOf(r.page)} answered HTTP ${r.status}`),
      ...certificateProblems.map((p) => `certificate lineage: ${p}`),
      ...lineageProblems(credit).map((p) => `credit lineage: ${p}`),
    ];
    if (problems.length) rows.push("", `NOT A CLEAN RUN (exit 1): ${problems.join("; ")}`);
    process.stdout.write(rows.join("\n") + "\n");

    const lineageVerifyMs =
      typeof certificate === "string" || certificateProblems.length
        ? null
        : Math.round(median(certificate.map((r) => r.verifyMs)));
    process.stdout.write(
      `${JSON.stringify({ lineageVerifyMs, listP95Ms: Number.isFinite(listP95Ms) ? Math.round(listP95Ms * 10) / 10 : null })}\n`,
    );
    if (problems.length) process.exitCode = 1;
  } finally {
    await browser?.close();
    await stack.stop();
  }
}

main().catch((cause: unknown) => {
  process.stderr.write(
    `bench:explorer failed: ${cause instanceof Error ? (cause.stack ?? cause.message) : String(cause)}\n`,
  );
  process.exit(1);
});
