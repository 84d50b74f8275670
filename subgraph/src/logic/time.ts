/**
 * UTC day arithmetic for the daily aggregates. AssemblyScript-compatible TypeScript: compiled into
 * the subgraph's wasm and run by node in the tests (test/support/graph-ts.ts), so the tested code
 * is the indexed code. Integer-only, valid in both (i64 division is exact after removing the rest).
 */

export const SECONDS_PER_DAY: i64 = 86400;

/** Day number since 1970-01-01 of unix time `timestamp` (seconds, ≥ 0). */
export function dayOf(timestamp: i64): i64 {
  return (timestamp - (timestamp % SECONDS_PER_DAY)) / SECONDS_PER_DAY;
}

/** Unix seconds of 00:00 UTC of the day containing `timestamp`. */
export function dayStartOf(timestamp: i64): i64 {
  return timestamp - (timestamp % SECONDS_PER_DAY);
}
