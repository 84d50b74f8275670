/**
 * Keeps node:sqlite's one-line "SQLite is an experimental feature" notice off the operator's
 * stderr; every other warning prints exactly as Node prints it. Node-only: imported first by
 * `carbonproof-oracle`, the oracle's worker entries that open the database, and the web app's
 * embedded indexer store (web/src/server/indexer/store.ts).
 *
 * Node 22 emits that ExperimentalWarning once per thread when node:sqlite loads, on a later tick,
 * to the thread's `warning` listeners; the node's own logs are pino's JSON on stdout, and a bare
 * line on stderr at every start, from the CLI and from each worker that opens the database, reads
 * as a fault. So this module, imported before node:sqlite, wraps the thread's existing listeners (Node's printer, or none under
 * `--no-warnings`) and passes on everything but that one notice. `--trace-warnings` and
 * `--disable-warning` keep working: they act inside Node's printer, which is still called.
 */
const original = process.listeners("warning");
process.removeAllListeners("warning");
process.on("warning", (warning: Error) => {
  if (isSqliteNotice(warning)) return;
  for (const listener of original) listener.call(process, warning);
});

/** The notice node:sqlite emits on load (and nothing else). */
export function isSqliteNotice(warning: Error): boolean {
  return warning.name === "ExperimentalWarning" && /^SQLite is an experimental feature/.test(warning.message);
}
