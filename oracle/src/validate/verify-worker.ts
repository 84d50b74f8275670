import { parentPort } from "node:worker_threads";
import { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";

/** Worker side of the verification pool: batches of checks in, a bitmap of answers out. */
type Job = { id: number; bytes: Uint8Array; sig: string; keys: Uint8Array[] };
const verifier = new SignatureVerifier();
parentPort!.on("message", (jobs: Job[]) => {
  const out = new Uint8Array(jobs.length);
  jobs.forEach((j, i) => {
    out[i] = j.keys.some((k) => verifier.verify(j.bytes, j.sig, k)) ? 1 : 0;
  });
  parentPort!.postMessage({ ids: jobs.map((j) => j.id), ok: out });
});
