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

/** An IPFS HTTP gateway: GET <base>/ipfs/<cid>?format=raw (Accept: application/vnd.ipld.raw). */
export function gatewaySource(baseUrl: string, fetchImpl: typeof fetch = fetch): BundleSource {
  const base = baseUrl.replace(/\/+$/, "");
  return {
    describe: `gateway ${base}`,
    byCid: true,
    async get(cid: string) {
      const url = `${base}/ipfs/${cid}?format=raw`;
      const res = await fetchImpl(url, { headers: { accept: "application/vnd.ipld.raw" } });
      if (!res.ok) {
        throw new SdkError(`Gateway answered ${res.status} ${res.statusText} for ${url}.`, { code: "INVALID_BUNDLE" });
      }
      return new Uint8Array(await res.arrayBuffer());
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
