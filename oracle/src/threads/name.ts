import { readlinkSync, writeFileSync } from "node:fs";

/** Thread names of the node's workers, as `ps -L`, `top -H` and bench:ingest show them. */
export const THREAD_NAMES = {
  verify: "cp-verify",
  writer: "cp-writer",
  bundle: "cp-bundle",
  /** a PostgreSQL connection's client (storage/pg-bridge.ts) */
  pg: "cp-pg",
} as const;

/**
 * Names the calling thread for the operating system (Linux: `/proc/thread-self/comm`, at most 15
 * bytes), so that an operator's `top -H` or `ps -L -p PID` tells the verify workers, the ingest
 * writer and the bundle worker apart instead of listing every thread as `node`. Elsewhere, or
 * when /proc is not mounted, it does nothing: a name is a convenience, never a condition.
 */
export function nameThread(name: string): void {
  try {
    writeFileSync("/proc/thread-self/comm", name.slice(0, 15));
  } catch {
    // not Linux, or /proc not mounted
  }
}

/** The calling thread's kernel id (Linux), or null elsewhere. */
export function threadId(): number | null {
  try {
    return Number(readlinkSync("/proc/thread-self").split("/").pop());
  } catch {
    return null;
  }
}
