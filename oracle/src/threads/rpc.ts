import { parentPort, Worker, type Transferable, type WorkerOptions } from "node:worker_threads";

/** A reply from `serveRpc`: the request's id and its result, or the error it threw. */
type Reply = { id: number; result?: unknown; error?: string; stack?: string };

/**
 * Request/reply with one worker thread: each `call` posts `{ id, ...request }` and settles on the
 * reply with that id (`serveRpc` on the worker's side). A worker that fails or exits rejects every
 * call in flight, so that nothing waiting on it (an acknowledgement, a batch step) is left hanging
 * or taken for done; `failed` then says why, and the owner decides whether to start another.
 * The ingest writer (storage/ingest-writer.ts) and the bundle builder (batch/bundle-builder.ts)
 * are built on it.
 */
export class WorkerRpc {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  #next = 0;
  #failed: Error | null = null;
  readonly #exited: Promise<void>;

  /** `what` names the thread in errors ("ingest writer thread exited (code 1)"). */
  constructor(url: URL, options: WorkerOptions, what: string) {
    this.#worker = new Worker(url, options);
    this.#worker.on("message", (m: Reply) => {
      const p = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (!p) return;
      if (m.error !== undefined) p.reject(Object.assign(new Error(m.error), { stack: m.stack }));
      else p.resolve(m.result);
    });
    this.#worker.on("error", (err) => this.#fail(err));
    this.#exited = new Promise((resolve) =>
      this.#worker.once("exit", (code) => {
        this.#fail(new Error(`${what} exited (code ${code})`));
        resolve();
      }),
    );
  }

  #fail(err: Error): void {
    this.#failed ??= err;
    for (const [id, p] of this.#pending) {
      this.#pending.delete(id);
      p.reject(err);
    }
  }

  /** Why the thread stopped answering (an error, or its exit); null while it runs. */
  get failed(): Error | null {
    return this.#failed;
  }

  /** Posts `{ id, ...request }` and resolves with the worker's result (rejects with its error). */
  call<T>(request: object, transfer?: readonly Transferable[]): Promise<T> {
    if (this.#failed) return Promise.reject(this.#failed);
    const id = this.#next++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.#worker.postMessage({ ...request, id }, transfer);
    });
  }

  /** Asks the worker to close (`{ close: true }`: after the requests already posted) and waits for its exit. */
  async close(): Promise<void> {
    if (!this.#failed) this.#worker.postMessage({ close: true });
    await this.#exited;
  }
}

/**
 * Worker side of `WorkerRpc`: answers each request with `handle`'s result (or the error it threw,
 * message and stack), in the order requests arrive; a result that is a promise once it settles. `handle` may give `{ result, transfer }` to
 * move buffers instead of copying them. On `{ close: true }` runs `onClose` and lets the thread end.
 */
export function serveRpc<Req>(
  handle: (request: Req) => unknown,
  onClose: () => void,
  withTransfer?: (result: unknown) => Transferable[],
): void {
  const port = parentPort!;
  port.on("message", (m: (Req & { id: number }) | { close: true }) => {
    if ("close" in m) {
      onClose();
      port.close();
      return;
    }
    const answer = (result: unknown) => port.postMessage({ id: m.id, result } satisfies Reply, withTransfer?.(result));
    const fail = (err: unknown) => {
      const e = err instanceof Error ? err : new Error(String(err));
      port.postMessage({ id: m.id, error: e.message, stack: e.stack } satisfies Reply);
    };
    try {
      const result = handle(m);
      // a promise is answered once it settles (later requests may be answered before it)
      if (result instanceof Promise)
        result.then((r) => {
          try {
            answer(r);
          } catch (err) {
            fail(err); // a result that cannot be posted
          }
        }, fail);
      else answer(result);
    } catch (err) {
      fail(err);
    }
  });
}
