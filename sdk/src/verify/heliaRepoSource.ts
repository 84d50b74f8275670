import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { FsBlockstore } from "blockstore-fs";
import { CID } from "multiformats/cid";
import { SdkError } from "../errors.ts";
import type { BundleSource } from "./sources.ts";

/**
 * Bundles in a Helia repository on disk (Node only): the oracle's embedded IPFS node keeps its
 * blocks in `<repo>/blocks` (an FsBlockstore). Bundles are single raw blocks (docs/bundle.md),
 * so the bytes of a CID are that block. `dir` may be the repository or its `blocks` folder.
 * Nothing is trusted: the verifier hashes what it gets and compares with the CID on-chain.
 */
export function heliaRepoSource(dir: string): BundleSource {
  const blocksDir =
    existsSync(join(dir, "blocks")) && statSync(join(dir, "blocks")).isDirectory() ? join(dir, "blocks") : dir;
  let opened: Promise<FsBlockstore> | undefined;
  const open = () => {
    opened ??= (async () => {
      const store = new FsBlockstore(blocksDir);
      await store.open();
      return store;
    })();
    return opened;
  };
  return {
    describe: `Helia repository ${dir}`,
    byCid: true,
    async get(cid: string) {
      let parsed: CID;
      try {
        parsed = CID.parse(cid);
      } catch (cause) {
        throw new SdkError(`"${cid}" is not a CID.`, { code: "INVALID_BUNDLE", cause });
      }
      const store = await open();
      if (!(await store.has(parsed))) {
        throw new SdkError(
          `No block ${cid} in the Helia repository ${blocksDir}. Point --bundle at the oracle's IPFS folder (its dataDir's ipfs/ by default).`,
          { code: "INVALID_BUNDLE" },
        );
      }
      const parts: Uint8Array[] = [];
      for await (const chunk of store.get(parsed)) parts.push(chunk);
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        out.set(p, at);
        at += p.length;
      }
      return out;
    },
  };
}
