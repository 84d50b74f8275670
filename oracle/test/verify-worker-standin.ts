/**
 * The verification worker (src/validate/verify-worker.ts), run as it is, but a thread that can be
 * made to die or to hold its answer: it stands for a worker killed by what cannot be caught (its
 * heap limit, a native fault), which no payload here can bring about on cue now that every payload
 * error is answered as malformed. A payload holding `"die-now"` ends the thread (exit code 3); one
 * holding `"hold-1s"` keeps it busy for a second before the real worker answers.
 */
import { parentPort } from "node:worker_threads";

parentPort!.on("message", (m: { type: string; buf?: ArrayBuffer }) => {
  if (m.type !== "prepare" || !m.buf) return;
  const text = Buffer.from(m.buf).toString("utf8");
  if (text.includes('"die-now"')) process.exit(3);
  if (text.includes('"hold-1s"')) {
    const until = Date.now() + 1_000;
    while (Date.now() < until);
  }
});
await import("../src/validate/verify-worker.ts");
