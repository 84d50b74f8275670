/**
 * Merkle build benchmark (`npm run bench:merkle`): the sdk's flat-buffer SHA-256 tree
 * over 1,000,000 reading digests, and @openzeppelin/merkle-tree's SimpleMerkleTree with
 * the same node hash on a smaller size as the baseline, in the same run.
 *
 * Baseline, like with like: neither side hashes leaves. Both get the same pre-hashed leaves
 * (SHA-256(0x00 ‖ digest), computed before timing; the sdk's buildMerkleTreeFromLeaves as a
 * flat buffer, SimpleMerkleTree.of as 0x-hex strings, each its own input form) and the timing
 * covers sorting and all inner nodes; both are warmed up first on other leaves, each timed best
 * of 3, and their roots must agree. The sdk's buildMerkleTree over the same digests, leaf
 * hashing included, is printed beside them for reference.
 *
 * The 1M figure (the target's): buildMerkleTree from reading digests, timing leaf hashing,
 * sorting and all inner nodes, best of 3. One core: the build is single-threaded JS.
 *
 * Prints a table; the last line is one JSON object:
 * {"merkleBuild1MSeconds","baselineLeaves","sdkBaselineSeconds","ozBaselineSeconds"}
 * (the two baseline figures: best wall seconds on the pre-hashed leaves).
 */
import { randomBytes } from "node:crypto";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { buildMerkleTree, buildMerkleTreeFromLeaves, leafHash, nodeHash } from "../sdk/src/merkle/index.ts";

function digests(n: number): Uint8Array {
  const b = randomBytes(32 * n);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** The leaves of `digests` (SHA-256(0x00 ‖ digest)), as the hex strings OZ takes and as one flat buffer. */
function leavesOf(d: Uint8Array): { hex: `0x${string}`[]; flat: Uint8Array } {
  const n = d.length / 32;
  const hex: `0x${string}`[] = [];
  const flat = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) {
    const leaf = leafHash(d.subarray(32 * i, 32 * i + 32));
    hex.push(leaf);
    flat.set(Buffer.from(leaf.slice(2), "hex"), 32 * i);
  }
  return { hex, flat };
}

let lastCpu = 0;
/** Wall seconds of fn; the process CPU seconds go to lastCpu (wall exceeds CPU when other work shares the cores). */
function seconds(fn: () => unknown): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  fn();
  const c = process.cpuUsage(c0);
  lastCpu = (c.user + c.system) / 1e6;
  return (performance.now() - t0) / 1000;
}

/** Best wall time of `runs` runs of fn, with that run's CPU seconds. */
function best(runs: number, fn: () => unknown): { wall: number; cpu: number; all: { wall: number; cpu: number }[] } {
  const all: { wall: number; cpu: number }[] = [];
  for (let i = 0; i < runs; i++) {
    const wall = seconds(fn);
    all.push({ wall, cpu: lastCpu });
  }
  const b = all.reduce((a, r) => (r.wall < a.wall ? r : a));
  return { ...b, all };
}

const rows: {
  impl: string;
  leafHashing: string;
  leaves: number;
  wallSeconds: number;
  cpuSeconds: number;
  leavesPerSecond: number;
}[] = [];
function record(impl: string, leafHashing: string, leaves: number, r: { wall: number; cpu: number }) {
  rows.push({
    impl,
    leafHashing,
    leaves,
    wallSeconds: Number(r.wall.toFixed(3)),
    cpuSeconds: Number(r.cpu.toFixed(3)),
    leavesPerSecond: Math.round(leaves / r.wall),
  });
}

// Warm-up of everything timed below, on other leaves, so the JIT has compiled each before its runs.
const warm = digests(50_000);
const warmLeaves = leavesOf(warm);
buildMerkleTree(warm);
buildMerkleTreeFromLeaves(warmLeaves.flat);
SimpleMerkleTree.of(warmLeaves.hex, { nodeHash });

const baselineN = Number(process.env.BENCH_BASELINE_LEAVES ?? 50_000);
const small = digests(baselineN);
const smallLeaves = leavesOf(small);
let sdkRoot = "";
let ozRoot = "";
const sdkBaseline = best(3, () => (sdkRoot = buildMerkleTreeFromLeaves(smallLeaves.flat).root));
record("sdk buildMerkleTreeFromLeaves (best of 3)", "no (pre-hashed)", baselineN, sdkBaseline);
const ozBaseline = best(3, () => (ozRoot = SimpleMerkleTree.of(smallLeaves.hex, { nodeHash }).root));
record("@openzeppelin/merkle-tree 1.0.8 SimpleMerkleTree.of (best of 3)", "no (pre-hashed)", baselineN, ozBaseline);
if (sdkRoot !== ozRoot) throw new Error(`baseline roots differ: sdk ${sdkRoot}, OpenZeppelin ${ozRoot}`);
const sdkWithLeaves = best(3, () => buildMerkleTree(small));
record("sdk buildMerkleTree (best of 3; reference)", "yes", baselineN, sdkWithLeaves);

const n = 1_000_000;
const big = digests(n);
let root = "";
const big1M = best(3, () => (root = buildMerkleTree(big).root));
record("sdk buildMerkleTree (best of 3)", "yes", n, big1M);

console.table(rows);
console.log(
  `baseline (${baselineN.toLocaleString("en-US")} leaves): neither side hashes leaves, same pre-hashed leaves, same root ${sdkRoot}; OpenZeppelin / sdk wall time ${(ozBaseline.wall / sdkBaseline.wall).toFixed(1)}×`,
);
console.log(
  `1M runs (wall/cpu s): ${big1M.all.map((r) => `${r.wall.toFixed(3)}/${r.cpu.toFixed(3)}`).join(", ")}; root ${root}; node ${process.version}; load average ${(
    await import("node:os")
  )
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log(
  JSON.stringify({
    merkleBuild1MSeconds: Number(big1M.wall.toFixed(3)),
    baselineLeaves: baselineN,
    sdkBaselineSeconds: Number(sdkBaseline.wall.toFixed(3)),
    ozBaselineSeconds: Number(ozBaseline.wall.toFixed(3)),
  }),
);
