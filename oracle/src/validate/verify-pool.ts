import { Worker } from "node:worker_threads";
import { SignatureVerifier } from "../../../sdk/src/reading/nodeVerifier.ts";

/**
 * P-256 verification off the main thread: `size` workers, each check batched with the others of
 * the same event-loop turn (one message per worker per turn), so the main thread keeps parsing,
 * storing and acknowledging while OpenSSL runs on the other cores. Size 0: inline.
 */
export class VerifyPool {
  readonly #workers: Worker[] = [];
  readonly #inline = new SignatureVerifier();
  readonly #pending = new Map<number, { resolve: (ok: boolean) => void; reject: (e: unknown) => void }>();
  #queue: { id: number; bytes: Uint8Array; sig: string; keys: Uint8Array[] }[] = [];
  #next = 0;
  #rr = 0;
  #scheduled = false;

  constructor(size: number) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./verify-worker.ts", import.meta.url));
      w.on("message", (m: { ids: number[]; ok: Uint8Array }) => {
        m.ids.forEach((id, k) => {
          const p = this.#pending.get(id);
          this.#pending.delete(id);
          p?.resolve(m.ok[k] === 1);
        });
      });
      w.on("error", (err) => {
        // a dead worker must not strand its checks: fail them, so the messages stay unacknowledged
        for (const [id, p] of this.#pending) {
          this.#pending.delete(id);
          p.reject(err);
        }
      });
      this.#workers.push(w);
    }
  }

  /** True when `sig` over `bytes` verifies under one of `keys`. */
  verify(bytes: Uint8Array, sig: string, keys: Uint8Array[]): Promise<boolean> | boolean {
    if (this.#workers.length === 0) return keys.some((k) => this.#inline.verify(bytes, sig, k));
    const id = this.#next++;
    this.#queue.push({ id, bytes, sig, keys });
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(() => this.#dispatch());
    }
    return new Promise((resolve, reject) => this.#pending.set(id, { resolve, reject }));
  }

  #dispatch(): void {
    this.#scheduled = false;
    const q = this.#queue;
    this.#queue = [];
    const n = this.#workers.length;
    const per = Math.ceil(q.length / n);
    for (let i = 0; i < q.length; i += per) {
      this.#workers[this.#rr++ % n]!.postMessage(q.slice(i, i + per));
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.#workers.map((w) => w.terminate()));
  }
}
