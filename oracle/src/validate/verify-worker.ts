import { parentPort, workerData } from "node:worker_threads";
import { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";
import { nameThread, THREAD_NAMES } from "../threads/name.ts";
import {
  packPrepared,
  preparePayload,
  type PostedDevice,
  type PostedMethodology,
  type PreparedPayload,
} from "./prepare.ts";

/**
 * Worker side of the verification pool. Two kinds of batches: signature checks (a bitmap of
 * answers back), and whole payloads to prepare (JSON, schema, canonical bytes, digest and, when
 * the device is known from the topic, the signature; validate/prepare.ts). Payloads arrive
 * concatenated in one transferred buffer.
 */
type VerifyJob = { id: number; bytes: Uint8Array; sig: string; keys: Uint8Array[] };
type Msg =
  | { type: "verify"; jobs: VerifyJob[] }
  | { type: "prepare"; ids: number[]; buf: ArrayBuffer; ends: Uint32Array; devices: (PostedDevice | string | null)[] };
nameThread(THREAD_NAMES.verify);
const verifier = new SignatureVerifier();
/** the factor set and facility contexts to compute emissions with (null: the main thread computes) */
const methodology = (workerData as { methodology: PostedMethodology | null } | null)?.methodology ?? null;
/** device records the pool sent this worker; later payloads name the device by id (verify-pool.ts) */
const devices = new Map<string, PostedDevice>();
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
    const d = m.devices[i]!;
    let device: PostedDevice | null = null;
    if (typeof d === "string") device = devices.get(d) ?? null;
    else if (d !== null) devices.set(d.deviceId, (device = d));
    try {
      out[i] = preparePayload(text.toString("utf8", start, end), device, verifier, methodology);
    } catch (err) {
      // never expected (preparePayload answers a bad payload as malformed), but one payload must
      // not end the thread and fail the others of the batch
      out[i] = { ok: false, detail: `cannot be read: ${(err as Error).message}` };
    }
    start = end;
  }
  // flat, not the objects: far cheaper to clone and to rebuild on the main thread (packPrepared)
  parentPort!.postMessage({ type: "prepared", ids: m.ids, flat: packPrepared(out) });
});
