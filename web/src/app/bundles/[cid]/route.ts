import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

/**
 * Serves an evidence bundle (signed readings, factor set id, methodology) by its CID from
 * the local bundle folder, so "the readings behind a credit" are one click away on a local
 * stack: CARBONPROOF_BUNDLES, by default `bundles/` beside the facility directory (where
 * scripts/seed-demo.ts writes them). In production the same CIDs resolve on any IPFS
 * gateway (CARBONPROOF_IPFS_GATEWAY makes the credit page link there instead).
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
  if (!existsSync(file))
    return Response.json(
      { error: `bundle ${cid} is not in ${dir}; fetch it by its CID from IPFS (any gateway or the oracle's node)` },
      { status: 404 },
    );
  return new Response(readFileSync(file), {
    headers: {
      "content-type": "application/json",
      "content-disposition": `inline; filename="${cid}.json"`,
      "cache-control": "public, max-age=31536000, immutable",
    },
  });
}
