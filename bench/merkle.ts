/**
 * Merkle build benchmark (`npm run bench:merkle`): the sdk's flat-buffer SHA-256 tree
 * over 1,000,000 reading digests, and @openzeppelin/merkle-tree's SimpleMerkleTree with
 * the same node hash on a smaller size as the baseline, in the same run. Prints a table;
 * the last line is one JSON object with `merkleBuild1MSeconds`.
 *
 * Timing covers leaf hashing (SHA-256(0x00 ‖ digest)), sorting and all inner nodes.
 * One core: the build is single-threaded JS.
 */
import { randomBytes } from "node:crypto";
import { SimpleMerkleTree } from "@openzeppelin/merkle-tree";
import { buildMerkleTree, leafHash, nodeHash } from "../sdk/src/merkle/index.ts";

function digests(n: number): Uint8Array {
  const b = randomBytes(32 * n);
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
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

const rows: { impl: string; leaves: number; wallSeconds: number; cpuSeconds: number; leavesPerSecond: number }[] = [];
function record(impl: string, leaves: number, s: number, cpu = lastCpu) {
  rows.push({
    impl,
    leaves,
    wallSeconds: Number(s.toFixed(3)),
    cpuSeconds: Number(cpu.toFixed(3)),
    leavesPerSecond: Math.round(leaves / s),
  });
}

// Warm-up so the JIT has compiled the hash loop before the timed runs.
buildMerkleTree(digests(50_000));

const baselineN = Number(process.env.BENCH_BASELINE_LEAVES ?? 50_000);
const small = digests(baselineN);
record(
  "sdk buildMerkleTree",
  baselineN,
  seconds(() => buildMerkleTree(small)),
);
const hexLeaves: `0x${string}`[] = [];
for (let i = 0; i < baselineN; i++) hexLeaves.push(leafHash(small.subarray(32 * i, 32 * i + 32)));
const ozSeconds = seconds(() => SimpleMerkleTree.of(hexLeaves, { nodeHash }));
record("@openzeppelin/merkle-tree 1.0.8 SimpleMerkleTree (leaves pre-hashed)", baselineN, ozSeconds);

const n = 1_000_000;
const big = digests(n);
const runs: { wall: number; cpu: number }[] = [];
let root = "";
for (let i = 0; i < 3; i++) {
  const wall = seconds(() => (root = buildMerkleTree(big).root));
  runs.push({ wall, cpu: lastCpu });
}
const bestRun = runs.reduce((a, b) => (b.wall < a.wall ? b : a));
const best = bestRun.wall;
record("sdk buildMerkleTree (best of 3)", n, best, bestRun.cpu);

console.table(rows);
console.log(
  `1M runs (wall/cpu s): ${runs.map((r) => `${r.wall.toFixed(3)}/${r.cpu.toFixed(3)}`).join(", ")}; root ${root}; node ${process.version}; load average ${(
    await import("node:os")
  )
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log(JSON.stringify({ merkleBuild1MSeconds: Number(best.toFixed(3)) }));
