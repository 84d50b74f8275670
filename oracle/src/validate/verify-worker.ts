import { parentPort } from "node:worker_threads";
import { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";
import { preparePayload, type PostedDevice, type PreparedPayload } from "./prepare.ts";

/**
 * Worker side of the verification pool. Two kinds of batches: signature checks (a bitmap of
 * answers back), and whole payloads to prepare (JSON, schema, canonical bytes, digest and, when
 * the device is known from the topic, the signature; validate/prepare.ts). Payloads arrive
 * concatenated in one transferred buffer.
 */
type VerifyJob = { id: number; bytes: Uint8Array; sig: string; keys: Uint8Array[] };
type Msg =
  | { type: "verify"; jobs: VerifyJob[] }
  | { type: "prepare"; ids: number[]; buf: ArrayBuffer; ends: Uint32Array; devices: (PostedDevice | null)[] };
const verifier = new SignatureVerifier();
parentPort!.on("message", (m: Msg) => {
  if (m.type === "verify") {
    const out = new Uint8Array(m.jobs.length);
    m.jobs.forEach((j, i) => {
      out[i] = j.keys.some((k) => verifier.verify(j.bytes, j.sig, k)) ? 1 : 0;
    });
    parentPort!.postMessage({ type: "verified", ids: m.jobs.map((j) => j.id), ok: out });
    return;
  }
  const text = Buffer.from(m.buf);
  const out: PreparedPayload[] = new Array(m.ids.length);
  let start = 0;
  for (let i = 0; i < m.ids.length; i++) {
    const end = m.ends[i]!;
    out[i] = preparePayload(text.toString("utf8", start, end), m.devices[i]!, verifier);
    start = end;
  }
  parentPort!.postMessage({ type: "prepared", ids: m.ids, out });
});
