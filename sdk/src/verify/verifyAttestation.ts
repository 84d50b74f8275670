import {
  BaseError,
  ContractFunctionRevertedError,
  decodeFunctionData,
  isAddressEqual,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { bundleCid, decodeBundle } from "../bundle/bundle.ts";
import { checkBundle, type LinkCheck } from "../bundle/check.ts";
import type { Bundle } from "../bundle/schema.ts";
import { hashBatchHeader, recoverQuorumSigners, type BatchHeader } from "../eip712/batchHeader.ts";
import { SdkError } from "../errors.ts";
import { bytesToHex } from "../hex.ts";
import { bytes32ToId, idToBytes32 } from "../ids.ts";
import { leafHash } from "../merkle/hash.ts";
import { getProof } from "../merkle/proof.ts";
import { buildMerkleTree } from "../merkle/tree.ts";
import { readingDigest } from "../reading/digest.ts";
import type { Envelope } from "../reading/schema.ts";
import { publicKeyFromXY, verifyEnvelope } from "../reading/sign.ts";
import { attestationRegistryAbi, deviceRegistryAbi, oracleSetAbi } from "./abi.ts";
import type { BundleSource } from "./sources.ts";

export type VerifyTarget = { attestationId: Hex } | { envelope: Envelope };

export type VerifyOptions = {
  client: PublicClient;
  registry: Address;
  /** DeviceRegistry address; without it device signatures are a FAIL (keys unknown). */
  deviceRegistry?: Address;
  target: VerifyTarget;
  source: BundleSource;
  fromBlock?: bigint;
  /** How many readings to also prove with the registry's on-chain `verifyReading` (default 16). */
  onchainProofs?: number;
  /**
   * Fetch the bundles of the facility's other attestations and check that no reading is
   * attested twice (default true; needs a source that fetches by CID).
   */
  checkHistory?: boolean;
};

export type VerifyReport = { attestationId: Hex | null; checks: LinkCheck[]; ok: boolean };

type Submitted = { id: Hex; header: BatchHeader; bitmap: bigint; txHash: Hex; blockNumber: bigint };

const pass = (link: string, detail: string): LinkCheck => ({ link, ok: true, detail });
const fail = (link: string, detail: string): LinkCheck => ({ link, ok: false, detail });

async function findSubmissions(o: VerifyOptions, args: { id?: Hex; facilityId?: Hex }): Promise<Submitted[]> {
  const logs = await o.client.getLogs({
    address: o.registry,
    event: attestationRegistryAbi.find((x) => x.type === "event" && x.name === "AttestationSubmitted") as Extract<
      (typeof attestationRegistryAbi)[number],
      { type: "event"; name: "AttestationSubmitted" }
    >,
    args,
    fromBlock: o.fromBlock ?? 0n,
    toBlock: "latest",
  });
  return logs.map((log) => ({
    id: log.args.id as Hex,
    header: log.args.header as BatchHeader,
    bitmap: log.args.signerBitmap as bigint,
    txHash: log.transactionHash as Hex,
    blockNumber: log.blockNumber as bigint,
  }));
}

/**
 * The auditor's verifier: re-checks every link from the chain back to the signed readings.
 * Returns one check per link; `ok` only when all pass. Browser-safe (viem + a BundleSource).
 */
export async function verifyAttestation(o: VerifyOptions): Promise<VerifyReport> {
  const checks: LinkCheck[] = [];
  const chainId = await o.client.getChainId();
  const domain = { chainId, verifyingContract: o.registry };

  // 1. Which attestation.
  let sub: Submitted | undefined;
  let bytes: Uint8Array | undefined;
  let envelopeDigest: Hex | undefined;
  if ("attestationId" in o.target) {
    const found = await findSubmissions(o, { id: o.target.attestationId });
    sub = found[0];
    if (!sub) {
      checks.push(
        fail(
          "attestation on chain",
          `no AttestationSubmitted event for ${o.target.attestationId} at ${o.registry} on chain ${chainId}`,
        ),
      );
      return { attestationId: o.target.attestationId, checks, ok: false };
    }
  } else {
    const reading = o.target.envelope.reading;
    envelopeDigest = bytesToHex(readingDigest(reading));
    const candidates = (await findSubmissions(o, { facilityId: idToBytes32(reading.facilityId) })).filter(
      (s) => BigInt(reading.ts) >= s.header.periodStart && BigInt(reading.ts) < s.header.periodEnd,
    );
    const unreadable: string[] = [];
    for (const c of candidates) {
      let b: Uint8Array;
      try {
        b = await o.source.get(c.header.bundleCid);
      } catch (error) {
        // An unreachable bundle is reported in the FAIL line below if no other candidate holds the reading.
        unreadable.push(`${c.id}: ${(error as Error).message.split("\n")[0]}`);
        continue;
      }
      if (bundleCid(b) !== c.header.bundleCid) continue;
      let decoded: Bundle;
      try {
        decoded = decodeBundle(b);
      } catch (error) {
        if (!(error instanceof SdkError)) throw error;
        unreadable.push(`${c.id}: ${error.message.split("\n")[0]}`);
        continue;
      }
      if (decoded.readings.some((r) => r.digest === envelopeDigest)) {
        sub = c;
        bytes = b;
        break;
      }
    }
    if (!sub) {
      checks.push(
        fail(
          "reading attested",
          `no attestation of ${reading.facilityId} covering ts ${reading.ts} has a bundle (from ${o.source.describe}) containing digest ${envelopeDigest} (${candidates.length} candidate(s)${unreadable.length > 0 ? `; unreadable: ${unreadable.join("; ")}` : ""})`,
        ),
      );
      return { attestationId: null, checks, ok: false };
    }
  }
  const { id, header } = sub;

  // 2. The registry's record and the header's id.
  const recomputedId = hashBatchHeader(header, domain);
  checks.push(
    recomputedId === id
      ? pass("attestation id = EIP-712 digest of the header", `${id} (chain ${chainId}, registry ${o.registry})`)
      : fail("attestation id = EIP-712 digest of the header", `event id ${id}, header hashes to ${recomputedId}`),
  );
  const record = await o.client.readContract({
    address: o.registry,
    abi: attestationRegistryAbi,
    functionName: "getAttestation",
    args: [id],
  });
  if (record.revokedAt !== 0n) checks.push(fail("attestation not revoked", `revoked at ${record.revokedAt}`));
  else checks.push(pass("attestation not revoked", `submitted at ${record.submittedAt}, block ${sub.blockNumber}`));
  checks.push(
    record.merkleRoot === header.merkleRoot
      ? pass("stored root = header root", header.merkleRoot)
      : fail("stored root = header root", `registry stores ${record.merkleRoot}, header says ${header.merkleRoot}`),
  );
  if (header.correctionOf !== `0x${"00".repeat(32)}`) {
    const original = await o.client.readContract({
      address: o.registry,
      abi: attestationRegistryAbi,
      functionName: "exists",
      args: [header.correctionOf],
    });
    checks.push(
      original
        ? pass("corrected attestation exists", header.correctionOf)
        : fail("corrected attestation exists", `${header.correctionOf} unknown`),
    );
  }

  // 3. Bundle bytes and CID.
  if (!bytes) {
    try {
      bytes = await o.source.get(header.bundleCid);
    } catch (error) {
      checks.push(
        fail(
          "bundle CID = on-chain CID",
          `cannot get the bundle from ${o.source.describe}: ${(error as Error).message}`,
        ),
      );
      return { attestationId: id, checks, ok: false };
    }
  }
  const cid = bundleCid(bytes);
  if (cid !== header.bundleCid) {
    checks.push(
      fail(
        "bundle CID = on-chain CID",
        `bytes from ${o.source.describe} hash to ${cid}, header says ${header.bundleCid}`,
      ),
    );
    return { attestationId: id, checks, ok: false };
  }
  checks.push(pass("bundle CID = on-chain CID", `${cid} (${bytes.length} bytes from ${o.source.describe})`));
  let bundle: Bundle;
  try {
    bundle = decodeBundle(bytes);
  } catch (error) {
    if (!(error instanceof SdkError)) throw error;
    checks.push(fail("bundle format", error.message));
    return { attestationId: id, checks, ok: false };
  }
  checks.push(pass("bundle format", `${bundle.format}, canonical, ${bundle.readings.length} readings`));

  // 4. Header fields = bundle.
  const mismatches: string[] = [];
  const eq = (name: string, a: unknown, b: unknown) => {
    if (String(a) !== String(b)) mismatches.push(`${name}: header ${String(a)}, bundle ${String(b)}`);
  };
  eq("facilityId", bytes32ToIdSafe(header.facilityId), bundle.facilityId);
  eq("periodStart", header.periodStart, bundle.period.start);
  eq("periodEnd", header.periodEnd, bundle.period.end);
  eq("merkleRoot", header.merkleRoot, bundle.root);
  eq("readingCount", header.readingCount, bundle.totals.readingCount);
  eq("fossilCo2eGrams", header.fossilCo2eGrams, bundle.totals.fossilCo2eGrams);
  eq("biogenicCo2Grams", header.biogenicCo2Grams, bundle.totals.biogenicCo2Grams);
  eq("methodologyId", header.methodologyId, bundle.methodologyId);
  eq("factorSetId", header.factorSetId, bundle.factorSet.id);
  eq("correctionOf", header.correctionOf, bundle.correctionOf);
  checks.push(
    mismatches.length === 0
      ? pass(
          "header = bundle (facility, period, root, count, totals, methodology, factor set)",
          `fossil ${header.fossilCo2eGrams} g CO2e, biogenic ${header.biogenicCo2Grams} g`,
        )
      : fail("header = bundle (facility, period, root, count, totals, methodology, factor set)", mismatches.join("; ")),
  );

  // 5. Everything recomputable from the bundle alone, and device signatures with registry keys.
  const keyOf = o.deviceRegistry ? deviceKeyLookup(o.client, o.deviceRegistry, bundle.facilityId) : undefined;
  const inner = await checkBundle(bundle, keyOf ? { publicKeyOf: keyOf.get } : {});
  checks.push(...inner);
  if (!keyOf)
    checks.push(fail("device signatures", "no DeviceRegistry address (--device-registry): device keys unknown"));
  else if (keyOf.problems.length > 0)
    checks.push(fail("devices registered to the facility", keyOf.problems.join("; ")));
  else
    checks.push(
      pass(
        "devices registered to the facility",
        `${keyOf.devices.size} device(s) of ${bundle.facilityId} in DeviceRegistry ${o.deviceRegistry}`,
      ),
    );

  // 6. Inclusion on-chain: the registry's own verifyReading for a sample (and for the envelope asked about).
  const tree = buildMerkleTree(bundle.readings.map((r) => r.digest as Hex));
  const limit = o.onchainProofs ?? 16;
  const sample = bundle.readings.filter((r, i) => i < limit || r.digest === envelopeDigest);
  let provenOnChain = 0;
  const notProven: string[] = [];
  for (const r of sample) {
    const leaf = leafHash(r.digest as Hex);
    const ok = await o.client.readContract({
      address: o.registry,
      abi: attestationRegistryAbi,
      functionName: "verifyReading",
      args: [id, leaf, getProof(tree, leaf)],
    });
    if (ok) provenOnChain++;
    else notProven.push(`${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`);
  }
  checks.push(
    notProven.length === 0 && tree.root === header.merkleRoot
      ? pass(
          "readings included in the attested root",
          `all ${bundle.readings.length} leaves under ${header.merkleRoot}; ${provenOnChain} proven with AttestationRegistry.verifyReading`,
        )
      : fail(
          "readings included in the attested root",
          `${notProven.length} rejected by verifyReading (first ${notProven[0] ?? "—"}); off-chain root ${tree.root}`,
        ),
  );
  if (envelopeDigest && "envelope" in o.target) {
    const inBundle = bundle.readings.find((r) => r.digest === envelopeDigest);
    const ok = inBundle !== undefined && inBundle.envelope.sig.toLowerCase() === o.target.envelope.sig.toLowerCase();
    checks.push(
      ok
        ? pass("envelope = bundle entry", `digest ${envelopeDigest}`)
        : fail("envelope = bundle entry", `signature in the bundle differs for digest ${envelopeDigest}`),
    );
    if (keyOf && ok) {
      const key = await keyOf.get(o.target.envelope.reading.deviceId, o.target.envelope.reading.ts);
      const valid = key !== null && verifyEnvelope(o.target.envelope, key);
      checks.push(
        valid
          ? pass("envelope signature", "valid under the registered key")
          : fail("envelope signature", "not valid under the registered key"),
      );
    }
  }

  // 7. Quorum: signatures from the submitting transaction, signers = bitmap, count ≥ threshold.
  checks.push(await checkQuorum(o, sub, domain));

  // 8. No reading attested twice among the facility's attestations (corrections included).
  if (o.checkHistory !== false) checks.push(await checkHistory(o, sub, bundle));

  return { attestationId: id, checks, ok: checks.every((c) => c.ok) };
}

async function checkHistory(o: VerifyOptions, sub: Submitted, bundle: Bundle): Promise<LinkCheck> {
  const link = "no reading attested twice for the facility";
  if (!o.source.byCid) {
    return {
      link,
      ok: true,
      skipped: true,
      detail: `needs the other attestations' bundles: ${o.source.describe} does not fetch by CID (use a gateway)`,
    };
  }
  const mine = new Map<string, string>();
  for (const r of bundle.readings) {
    mine.set(`${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`, r.digest);
  }
  const digests = new Set(mine.values());
  const others = (await findSubmissions(o, { facilityId: sub.header.facilityId })).filter((s) => s.id !== sub.id);
  const overlaps: string[] = [];
  let checked = 0;
  let revoked = 0;
  for (const other of others) {
    if (
      await o.client.readContract({
        address: o.registry,
        abi: attestationRegistryAbi,
        functionName: "isRevoked",
        args: [other.id],
      })
    ) {
      revoked++;
      continue;
    }
    let otherBundle: Bundle;
    try {
      const bytes = await o.source.get(other.header.bundleCid);
      if (bundleCid(bytes) !== other.header.bundleCid)
        return fail(link, `bundle of ${other.id} from ${o.source.describe} does not hash to its CID`);
      otherBundle = decodeBundle(bytes);
    } catch (error) {
      return fail(link, `cannot check against ${other.id}: ${(error as Error).message.split("\n")[0]}`);
    }
    checked++;
    for (const r of otherBundle.readings) {
      const key = `${r.envelope.reading.deviceId}#${r.envelope.reading.seq}`;
      if (mine.has(key) || digests.has(r.digest)) overlaps.push(`${key} also in ${other.id}`);
    }
  }
  if (overlaps.length > 0) return fail(link, `${overlaps.length} reading(s) attested twice; first ${overlaps[0]}`);
  return pass(
    link,
    `${checked} other attestation(s) of ${bundle.facilityId} checked${revoked ? ` (${revoked} revoked, ignored)` : ""}: no (deviceId, seq) or digest in common`,
  );
}

function bytes32ToIdSafe(value: Hex): string {
  try {
    return bytes32ToId(value);
  } catch (error) {
    if (error instanceof SdkError) return value;
    throw error;
  }
}

function deviceKeyLookup(client: PublicClient, deviceRegistry: Address, facilityId: string) {
  const devices = new Map<string, { current: { x: Hex; y: Hex; validFrom: bigint } | null }>();
  const problems: string[] = [];
  const get = async (deviceId: string, ts: number): Promise<Uint8Array | null> => {
    const id = idToBytes32(deviceId);
    let entry = devices.get(deviceId);
    if (!entry) {
      try {
        const facility = await client.readContract({
          address: deviceRegistry,
          abi: deviceRegistryAbi,
          functionName: "facilityOf",
          args: [id],
        });
        if (facility !== idToBytes32(facilityId))
          problems.push(`${deviceId} is registered to ${bytes32ToIdSafe(facility)}, not ${facilityId}`);
        const current = await client.readContract({
          address: deviceRegistry,
          abi: deviceRegistryAbi,
          functionName: "currentKey",
          args: [id],
        });
        entry = { current };
      } catch (error) {
        // A revert means the device is unknown to the registry: a failed link, reported.
        // Anything else (RPC down, …) is not an answer about the device: let it propagate.
        const reverted =
          error instanceof BaseError && error.walk((e) => e instanceof ContractFunctionRevertedError) !== null;
        if (!reverted) throw error;
        problems.push(`${deviceId} not in DeviceRegistry (${error.shortMessage})`);
        entry = { current: null };
      }
      devices.set(deviceId, entry);
    }
    if (!entry.current) return null;
    const key =
      BigInt(ts) >= entry.current.validFrom
        ? entry.current
        : await client.readContract({
            address: deviceRegistry,
            abi: deviceRegistryAbi,
            functionName: "keyAt",
            args: [id, BigInt(ts)],
          });
    return publicKeyFromXY(key.x, key.y);
  };
  return { get, devices, problems };
}

async function checkQuorum(
  o: VerifyOptions,
  sub: Submitted,
  domain: { chainId: number; verifyingContract: Address },
): Promise<LinkCheck> {
  const link = "quorum signatures";
  const oracleSet = await o.client.readContract({
    address: o.registry,
    abi: attestationRegistryAbi,
    functionName: "oracleSet",
  });
  const at = { blockNumber: sub.blockNumber };
  const threshold = await o.client.readContract({
    address: oracleSet,
    abi: oracleSetAbi,
    functionName: "threshold",
    ...at,
  });
  const bitmapSigners = await o.client.readContract({
    address: oracleSet,
    abi: oracleSetAbi,
    functionName: "signersOf",
    args: [sub.bitmap],
    ...at,
  });
  const tx = await o.client.getTransaction({ hash: sub.txHash });
  let signatures: Hex;
  try {
    const call = decodeFunctionData({ abi: attestationRegistryAbi, data: tx.input });
    if (call.functionName !== "submit" && call.functionName !== "submitCorrection")
      throw new Error(`called ${call.functionName}`);
    signatures = call.functionName === "submit" ? call.args[1] : call.args[2];
  } catch (error) {
    // Submitted through another contract (e.g. a multisig): the signatures are not in this
    // transaction's input, so they cannot be re-checked here.
    return fail(
      link,
      `cannot read the signatures from tx ${sub.txHash} (${(error as Error).message.split("\n")[0]}); registry bitmap names ${bitmapSigners.join(", ")}`,
    );
  }
  let recovered: Address[];
  try {
    recovered = await recoverQuorumSigners(sub.header, domain, signatures);
  } catch (error) {
    if (!(error instanceof SdkError)) throw error;
    return fail(link, error.message);
  }
  const sameSet =
    recovered.length === bitmapSigners.length &&
    recovered.every((a) => bitmapSigners.some((b) => isAddressEqual(a, b)));
  if (!sameSet)
    return fail(link, `recovered ${recovered.join(", ")}; registry bitmap names ${bitmapSigners.join(", ")}`);
  if (recovered.length < threshold) return fail(link, `${recovered.length} signer(s) < threshold ${threshold}`);
  return pass(
    link,
    `${recovered.length} of threshold ${threshold}: ${recovered.join(", ")} (recovered from tx ${sub.txHash})`,
  );
}
