import { SdkError } from "../errors.ts";

/**
 * Where the verifier gets a bundle's bytes. The verifier never trusts a source: it
 * hashes what it gets and compares with the CID on-chain.
 *
 * Implementations: `gatewaySource` (any IPFS HTTP gateway, trustless raw-block request;
 * browser-safe), `fileSource` (a local file, in ../node.ts). A Helia repository
 * directory is the oracle's to provide (it owns the Helia setup): implement this
 * interface over `blockstore.get(CID.parse(cid))`.
 */
export type BundleSource = {
  /** For messages: "file bundle.json", "gateway http://…". */
  readonly describe: string;
  /** Bytes for `cid`. A file source ignores the CID (the verifier compares the hash). */
  get(cid: string): Promise<Uint8Array>;
  /** True when `get` really looks bundles up by CID (so other attestations' bundles can be fetched). */
  readonly byCid: boolean;
};

/**
 * An IPFS HTTP gateway: GET <base>/ipfs/<cid>?format=raw (Accept: application/vnd.ipld.raw).
 * The CID comes from the chain, so it is URL-encoded into the path; each request gives up after
 * `timeoutMs` (default 60 s) and refuses a body over `maxBytes` (default 256 MiB, read no further):
 * a gateway that drips bytes or sends without end must not hold the caller.
 *
 * Why 256 MiB and not the 1 MiB that docs/bundle.md asks batches to stay under: the oracle pins
 * a long window's bundle above it (`allowBigBlock`, oracle/src/ipfs/kubo.ts; windows up to 24 h)
 * and co-signs bundles up to 256 MiB (`/v1/quorum/cosign` body limit), so a smaller default would
 * make the verifier, the web audit page and the indexer refuse attested bundles. What one walk
 * holds is bounded instead by the verifier: a few requests in flight, no bytes kept.
 */
export function gatewaySource(
  baseUrl: string,
  fetchImpl: typeof fetch = fetch,
  opts: { timeoutMs?: number; maxBytes?: number } = {},
): BundleSource {
  const base = baseUrl.replace(/\/+$/, "");
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxBytes = opts.maxBytes ?? 256 * 1024 * 1024;
  return {
    describe: `gateway ${base}`,
    byCid: true,
    async get(cid: string) {
      const url = `${base}/ipfs/${encodeURIComponent(cid)}?format=raw`;
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const res = await fetchImpl(url, { headers: { accept: "application/vnd.ipld.raw" }, signal });
        if (!res.ok) {
          throw new SdkError(`Gateway answered ${res.status} ${res.statusText} for ${url}.`, {
            code: "INVALID_BUNDLE",
          });
        }
        const declared = Number(res.headers.get("content-length"));
        if (Number.isFinite(declared) && declared > maxBytes) {
          await res.body?.cancel();
          throw new SdkError(
            `Gateway sends ${declared} bytes for ${url}, more than the ${maxBytes} a bundle may have.`,
            {
              code: "INVALID_BUNDLE",
            },
          );
        }
        if (!res.body) return new Uint8Array(await res.arrayBuffer());
        const chunks: Uint8Array[] = [];
        let size = 0;
        const reader = res.body.getReader();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          size += value.byteLength;
          if (size > maxBytes) {
            await reader.cancel();
            throw new SdkError(`Gateway sent more than ${maxBytes} bytes for ${url}: not a bundle.`, {
              code: "INVALID_BUNDLE",
            });
          }
          chunks.push(value);
        }
        const out = new Uint8Array(size);
        let at = 0;
        for (const c of chunks) (out.set(c, at), (at += c.byteLength));
        return out;
      } catch (err) {
        if (signal.aborted && !(err instanceof SdkError))
          throw new SdkError(`Gateway did not send ${url} within ${Math.round(timeoutMs / 1000)} s.`, {
            code: "INVALID_BUNDLE",
            cause: err,
          });
        throw err;
      }
    },
  };
}

/** Bytes already in memory (tests, browser uploads). */
export function bytesSource(bytes: Uint8Array, describe = "bytes in memory"): BundleSource {
  return { describe, byCid: false, get: async () => bytes };
}

/** Bundles in memory keyed by CID (e.g. a browser's cache, tests). */
export function mapSource(byCid: ReadonlyMap<string, Uint8Array>, describe = "bundles in memory"): BundleSource {
  return {
    describe,
    byCid: true,
    async get(cid: string) {
      const bytes = byCid.get(cid);
      if (!bytes) throw new SdkError(`No bundle for CID ${cid} in ${describe}.`, { code: "INVALID_BUNDLE" });
      return bytes;
    },
  };
}
