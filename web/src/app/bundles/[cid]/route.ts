import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { BundleSource } from "../../../../../sdk/src/verify/sources.ts";
import { heliaBundleSource } from "@/server/indexer/index.ts";
import { bundleResponse } from "@/lib/bundleResponse.ts";

/** One opened Helia blockstore per repository for the process, not one per request. */
const heliaSources = new Map<string, BundleSource>();

/**
 * Serves an evidence bundle (signed readings, factor set id, methodology) by its CID, so "the
 * readings behind a credit" are one click away on a local stack and the in-browser audit trail can
 * fetch them: first from the local bundle folder (CARBONPROOF_BUNDLES, by default `bundles/` beside
 * the facility directory, where scripts/seed-demo.ts writes them), then from the oracle node's
 * Helia repository (CARBONPROOF_ORACLE_IPFS, by default ../.carbonproof/oracle/ipfs, where the live
 * attestations of `npm start` are pinned). Neither source is trusted: every reader (the audit
 * trail, `carbonproof verify`) hashes the bytes and compares them with the CID on chain. In
 * production the same CIDs resolve on any IPFS gateway (CARBONPROOF_IPFS_GATEWAY).
 */
export async function GET(_req: Request, { params }: { params: Promise<{ cid: string }> }): Promise<Response> {
  const { cid } = await params;
  if (!/^[a-z2-7]{20,100}$/.test(cid))
    return Response.json({ error: "not a CIDv1 in base32 (bafy…)" }, { status: 400 });
  const facilities = process.env.CARBONPROOF_FACILITIES
    ? resolve(process.env.CARBONPROOF_FACILITIES)
    : join(process.cwd(), "..", ".carbonproof", "web", "facilities.json");
  const dir = process.env.CARBONPROOF_BUNDLES
    ? resolve(process.env.CARBONPROOF_BUNDLES)
    : join(dirname(facilities), "bundles");
  const file = join(dir, `${cid}.json`);
  let localError = "";
  if (existsSync(file)) {
    const local = bundleResponse(cid, readFileSync(file));
    if (local) return local;
    localError = `; ${file} is there but its bytes do not hash to ${cid}`;
  }
  const heliaDir = process.env.CARBONPROOF_ORACLE_IPFS
    ? resolve(process.env.CARBONPROOF_ORACLE_IPFS)
    : join(process.cwd(), "..", ".carbonproof", "oracle", "ipfs");
  let heliaError = "no oracle IPFS repository there";
  if (existsSync(heliaDir)) {
    try {
      let source = heliaSources.get(heliaDir);
      if (!source) heliaSources.set(heliaDir, (source = heliaBundleSource(heliaDir)));
      const stored = bundleResponse(cid, await source.get(cid));
      if (stored) return stored;
      heliaError = `its bytes for ${cid} do not hash to it`;
    } catch (error) {
      heliaError = (error as Error).message.split("\n")[0]!;
    }
  }
  // the server's folders go to its log, not to whoever asked
  console.warn(
    `bundle ${cid} is neither in ${dir} nor in the oracle's IPFS repository ${heliaDir} (${heliaError})${localError}`,
  );
  return Response.json(
    {
      error: `bundle ${cid} is not on this server; fetch it by its CID from IPFS (any gateway or the oracle's node)`,
    },
    { status: 404 },
  );
}
