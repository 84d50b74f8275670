import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { BundleSource } from "./sources.ts";

/** A bundle in a local file (Node only). The CID is checked by the verifier, not here. */
export function fileSource(path: string): BundleSource {
  return { describe: `file ${path}`, byCid: false, get: async () => new Uint8Array(await readFile(path)) };
}

/**
 * A folder of bundle files named by CID (`<cid>.json` or `<cid>`), as `scripts/seed-demo.ts`
 * and `carbonproof bundle build` write them (Node only). Looked up by CID.
 */
export function folderSource(dir: string): BundleSource {
  return {
    describe: `folder ${dir}`,
    byCid: true,
    async get(cid: string) {
      if (!/^[a-z0-9]+$/i.test(cid)) throw new Error(`"${cid}" is not a CID`);
      for (const name of [`${cid}.json`, cid]) {
        try {
          return new Uint8Array(await readFile(join(dir, name)));
        } catch (cause) {
          if ((cause as NodeJS.ErrnoException).code !== "ENOENT") throw cause;
        }
      }
      throw new Error(`No bundle ${cid}.json in the folder ${dir}.`);
    },
  };
}
