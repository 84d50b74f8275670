/**
 * Device signatures checked in Web Workers: each batch is split across the workers, each of
 * which runs the sdk's WebCrypto verifier (signatures.worker.ts). Chromium runs ECDSA verify
 * on the calling thread, so on the main thread 10,000 signatures would wait behind the bundle
 * decoding; in workers they use the other cores. Falls back (returns undefined) where workers
 * cannot start; callers then use the in-page verifier.
 */
import {
  nobleSignatureVerifier,
  webCryptoSignatureVerifier,
  type SignatureBatchVerifier,
  type SignatureItem,
} from "../../../../sdk/src/verify/signatures.ts";

type Reply = { id: number; valid?: boolean[]; error?: string };

export function workerSignatureVerifier(count = 2): SignatureBatchVerifier | undefined {
  if (typeof Worker === "undefined") return undefined;
  let workers: Worker[];
  try {
    workers = Array.from(
      { length: Math.max(1, count) },
      () => new Worker(new URL("./signatures.worker.ts", import.meta.url), { type: "module" }),
    );
  } catch (error) {
    if (error instanceof Error) return undefined;
    throw error;
  }
  let nextId = 0;
  const pending = new Map<number, { resolve: (v: boolean[]) => void; reject: (e: Error) => void }>();
  for (const w of workers) {
    w.onmessage = (event: MessageEvent<Reply>) => {
      const p = pending.get(event.data.id);
      if (!p) return;
      pending.delete(event.data.id);
      if (event.data.valid) p.resolve(event.data.valid);
      else p.reject(new Error(`signature worker: ${event.data.error ?? "no answer"}`));
    };
    w.onerror = (event) => {
      for (const p of pending.values()) p.reject(new Error(`signature worker failed: ${event.message}`));
      pending.clear();
    };
  }
  // A worker that cannot start (script blocked, no module workers) must not fail the checks:
  // the batch is then verified in the page, by the same sdk verifier.
  let broken = false;
  const inPage = webCryptoSignatureVerifier() ?? nobleSignatureVerifier;
  let turn = 0;
  const ask = (items: SignatureItem[]): Promise<boolean[]> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      workers[turn++ % workers.length]!.postMessage({ id, items });
    });
  return {
    describe: `WebCrypto in ${workers.length} worker${workers.length === 1 ? "" : "s"}`,
    async verify(items) {
      if (items.length === 0) return [];
      if (broken) return inPage.verify(items);
      const per = Math.ceil(items.length / workers.length);
      const parts: SignatureItem[][] = [];
      for (let i = 0; i < items.length; i += per) parts.push(items.slice(i, i + per));
      try {
        return (await Promise.all(parts.map(ask))).flat();
      } catch (error) {
        if (!(error instanceof Error)) throw error;
        broken = true;
        console.warn(`${error.message}; verifying signatures in the page instead`);
        return inPage.verify(items);
      }
    },
  };
}
