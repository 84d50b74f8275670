import { HeliaStore } from "../src/ipfs/helia.ts";
import { IpfsError, type ContentStore } from "../src/ipfs/store.ts";

/**
 * A real Helia store behind a switch (an IPFS node going away, Kubo restarting): while `down`,
 * every call fails as an unreachable IPFS node's would; pins that succeed are kept in `pinned`.
 */
export class SwitchedStore implements ContentStore {
  readonly kind = "helia" as const;
  readonly searchesNetwork = false;
  down = false;
  failures = 0;
  /** the bytes of every pin that succeeded, in order */
  readonly pinned: string[] = [];
  readonly inner: HeliaStore;
  constructor(inner: HeliaStore) {
    this.inner = inner;
  }
  #check(): void {
    if (this.down) {
      this.failures++;
      throw new IpfsError("connect ECONNREFUSED (IPFS switched off by the test)");
    }
  }
  async addAndPin(bytes: Uint8Array, opts?: { signal?: AbortSignal }) {
    this.#check();
    const cid = await this.inner.addAndPin(bytes, opts);
    this.pinned.push(Buffer.from(bytes).toString());
    return cid;
  }
  async get(cid: string) {
    this.#check();
    return this.inner.get(cid);
  }
  async isPinned(cid: string) {
    this.#check();
    return this.inner.isPinned(cid);
  }
  close() {
    return this.inner.close();
  }
}
