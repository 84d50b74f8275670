/**
 * The set-up the sdk's Hardhat tests share: a device registered on a {@link TestChain}, signed
 * flue-gas readings, a bundle attested by a quorum of two oracle nodes, and a loopback stand-in
 * for an IPFS HTTP gateway (no Kubo can run here; it serves raw blocks at
 * `/ipfs/<cid>?format=raw` as a trustless gateway does).
 */
import { createServer } from "node:http";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { bundleCid, bundleHeader, encodeBundle } from "../bundle/bundle.ts";
import type { Bundle } from "../bundle/schema.ts";
import { hashBatchHeader, packQuorumSignatures, signBatchHeader, type BatchHeader } from "../eip712/batchHeader.ts";
import { idToBytes32 } from "../ids.ts";
import { METHODOLOGY_ID } from "../methodology/methodologyId.ts";
import type { Envelope, Reading } from "../reading/schema.ts";
import { publicKeyToXY, signReading } from "../reading/sign.ts";
import { attestationRegistryAbi, carbonCreditsAbi, deviceRegistryAbi } from "../verify/abi.ts";
import { TEST_ONLY_HARDHAT_KEYS, type TestChain } from "./hardhatNode.ts";

/** Registers a flue-gas device (kind 0) of `facilityId` with its P-256 public key; key #0 is the device manager. */
export async function registerTestDevice(
  chain: TestChain,
  deviceId: string,
  facilityId: string,
  publicKey: Uint8Array,
): Promise<void> {
  const { x, y } = publicKeyToXY(publicKey);
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, chain.deviceRegistry, deviceRegistryAbi, "registerDevice", [
    idToBytes32(deviceId),
    idToBytes32(facilityId),
    0,
    x,
    y,
    "",
  ]);
}

/** `count` signed flue-gas readings of one device, `stepS` seconds apart from `start`, seq from `seq0`. */
export function flueGasEnvelopes(o: {
  deviceId: string;
  facilityId: string;
  secretKey: Uint8Array;
  start: number;
  count: number;
  seq0: number;
  stepS: number;
}): Envelope[] {
  return Array.from({ length: o.count }, (_, i) => {
    const r: Reading = {
      v: 1,
      deviceId: o.deviceId,
      facilityId: o.facilityId,
      seq: o.seq0 + i,
      ts: o.start + o.stepS * i,
      intervalS: 5,
      kind: "flue-gas",
      m: { co2Ppm: 41000 + i, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
    };
    return signReading(r, o.secretKey);
  });
}

/**
 * Encodes `bundle`, signs its header by oracle nodes #1 and #2 (the test chain's quorum) and
 * submits it from #1 (as a correction of `correcting` when given); adds the bytes to `pinned`
 * (what the gateway serves) when given.
 */
export async function attestBundle(
  chain: TestChain,
  bundle: Bundle,
  pinned?: Map<string, Uint8Array>,
  correcting?: BatchHeader,
): Promise<{ id: Hex; cid: string; bytes: Uint8Array; header: BatchHeader }> {
  const bytes = encodeBundle(bundle);
  const cid = bundleCid(bytes);
  pinned?.set(cid, bytes);
  const header = bundleHeader(bundle, cid);
  const domain = { chainId: 31337, verifyingContract: chain.registry };
  const nodes = TEST_ONLY_HARDHAT_KEYS.slice(1, 3).map((k) => privateKeyToAccount(k));
  const signed = await Promise.all(
    nodes.map(async (a) => ({ signer: a.address, signature: await signBatchHeader(a, header, domain) })),
  );
  const quorum = packQuorumSignatures(signed);
  await chain.write(
    TEST_ONLY_HARDHAT_KEYS[1]!,
    chain.registry,
    attestationRegistryAbi,
    correcting ? "submitCorrection" : "submit",
    correcting ? [header, correcting, quorum] : [header, quorum],
  );
  return { id: hashBatchHeader(header, domain), cid, bytes, header };
}

/**
 * Registers the project of `facilityId` on CarbonCredits (key #0, the verifier; #3 the proponent,
 * since a verifier is never a proponent): a 240 kg/day baseline from before the test periods.
 * The first project registered is project 1.
 */
export async function registerTestProject(chain: TestChain, credits: Address, facilityId: string): Promise<void> {
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, credits, carbonCreditsAbi, "registerProject", [
    {
      proponent: privateKeyToAccount(TEST_ONLY_HARDHAT_KEYS[3]!).address,
      facilityId: idToBytes32(facilityId),
      methodologyId: METHODOLOGY_ID,
      name: "Kangaita boiler retrofit",
      standard: "CarbonProof test",
      baselineEffectiveFrom: 1763800000n,
      baselineGramsPerDay: 240_000n,
      baselineCid: "",
    },
  ]);
}

/** Issues project `projectId`'s credits for `header` at the contract's bound (key #0, the verifier); the amount issued. */
export async function issueAtBound(
  chain: TestChain,
  credits: Address,
  projectId: number,
  header: BatchHeader,
): Promise<bigint> {
  const bound = (await chain.client.readContract({
    address: credits,
    abi: carbonCreditsAbi,
    functionName: "issuanceBound",
    args: [projectId, header],
  })) as bigint;
  await chain.write(TEST_ONLY_HARDHAT_KEYS[0]!, credits, carbonCreditsAbi, "issue", [projectId, header, bound]);
  return bound;
}

/**
 * The gateway stand-in on a loopback port: the blocks of `pinned` (404 for any other), each
 * answer after `delayMs`; `observe` sees each request start and end (to count those in flight).
 */
export async function startTestGateway(
  pinned: Map<string, Uint8Array>,
  opts: { delayMs?: number; observe?: { start(): void; end(): void } } = {},
): Promise<{ url: string; close(): void }> {
  const server = createServer((req, res) => {
    const m = /^\/ipfs\/([a-z0-9]+)\?format=raw$/.exec(req.url ?? "");
    const bytes = m ? pinned.get(m[1]!) : undefined;
    opts.observe?.start();
    const answer = () => {
      opts.observe?.end();
      if (!bytes) res.writeHead(404).end();
      else res.writeHead(200, { "content-type": "application/vnd.ipld.raw" }).end(bytes);
    };
    if (opts.delayMs) setTimeout(answer, opts.delayMs);
    else answer();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${typeof addr === "object" && addr ? addr.port : 0}`,
    close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
