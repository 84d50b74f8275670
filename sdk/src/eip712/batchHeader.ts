import {
  concatHex,
  hashTypedData,
  isAddressEqual,
  recoverTypedDataAddress,
  type Address,
  type Hex,
  type LocalAccount,
  type TypedDataDomain,
} from "viem";
import { SdkError } from "../errors.ts";

/** EIP-712 domain name and version of AttestationRegistry (docs/protocol.md "Batch header"). */
export const BATCH_HEADER_DOMAIN_NAME = "CarbonProof AttestationRegistry";
export const BATCH_HEADER_DOMAIN_VERSION = "1";

/** The EIP-712 type of `IAttestationRegistry.BatchHeader`, field for field. */
export const batchHeaderTypes = {
  BatchHeader: [
    { name: "facilityId", type: "bytes32" },
    { name: "periodStart", type: "uint64" },
    { name: "periodEnd", type: "uint64" },
    { name: "merkleRoot", type: "bytes32" },
    { name: "readingCount", type: "uint32" },
    { name: "fossilCo2eGrams", type: "uint128" },
    { name: "biogenicCo2Grams", type: "uint128" },
    { name: "methodologyId", type: "bytes32" },
    { name: "factorSetId", type: "bytes32" },
    { name: "bundleCid", type: "string" },
    { name: "correctionOf", type: "bytes32" },
  ],
} as const;

/** The type string whose keccak256 is the typehash (Solidity `BATCH_HEADER_TYPEHASH`). */
export const BATCH_HEADER_TYPE =
  "BatchHeader(bytes32 facilityId,uint64 periodStart,uint64 periodEnd,bytes32 merkleRoot,uint32 readingCount,uint128 fossilCo2eGrams,uint128 biogenicCo2Grams,bytes32 methodologyId,bytes32 factorSetId,string bundleCid,bytes32 correctionOf)";

/** A batch header, as viem encodes it (uint64/uint128 as bigint, uint32 as number). */
export type BatchHeader = {
  facilityId: Hex;
  periodStart: bigint;
  periodEnd: bigint;
  merkleRoot: Hex;
  readingCount: number;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  methodologyId: Hex;
  factorSetId: Hex;
  bundleCid: string;
  correctionOf: Hex;
};

export const ZERO_BYTES32: Hex = `0x${"00".repeat(32)}`;

/** The EIP-712 domain of the AttestationRegistry at `verifyingContract` on `chainId`. */
export function batchHeaderDomain(chainId: number | bigint, verifyingContract: Address) {
  return {
    name: BATCH_HEADER_DOMAIN_NAME,
    version: BATCH_HEADER_DOMAIN_VERSION,
    chainId: Number(chainId),
    verifyingContract,
  } as const satisfies TypedDataDomain;
}

export type RegistryDomain = { chainId: number | bigint; verifyingContract: Address };

function typedData(header: BatchHeader, domain: RegistryDomain) {
  return {
    domain: batchHeaderDomain(domain.chainId, domain.verifyingContract),
    types: batchHeaderTypes,
    primaryType: "BatchHeader" as const,
    message: header,
  };
}

/** The attestation id: EIP-712 digest (`hashTypedData`) of the header under the registry's domain. */
export function hashBatchHeader(header: BatchHeader, domain: RegistryDomain): Hex {
  return hashTypedData(typedData(header, domain));
}

/** One oracle node's 65-byte (r‖s‖v) signature of the header. */
export async function signBatchHeader(
  account: LocalAccount,
  header: BatchHeader,
  domain: RegistryDomain,
): Promise<Hex> {
  if (!account.signTypedData) {
    throw new SdkError("This account cannot sign typed data; use a local (private-key) account.", {
      code: "INVALID_HEADER",
    });
  }
  return account.signTypedData(typedData(header, domain));
}

/** Address that produced `signature` over the header. */
export async function recoverBatchHeaderSigner(
  header: BatchHeader,
  domain: RegistryDomain,
  signature: Hex,
): Promise<Address> {
  return recoverTypedDataAddress({ ...typedData(header, domain), signature });
}

/** True when `signature` over the header was made by `signer`. */
export async function verifyBatchHeaderSignature(
  header: BatchHeader,
  domain: RegistryDomain,
  signature: Hex,
  signer: Address,
): Promise<boolean> {
  try {
    return isAddressEqual(await recoverBatchHeaderSigner(header, domain, signature), signer);
  } catch (error) {
    // A malformed signature is a failed verification, not an error of the verifier.
    if (error instanceof Error) return false;
    throw error;
  }
}

/**
 * The `signatures` argument of `AttestationRegistry.submit`: 65-byte signatures ordered by
 * strictly increasing signer address, concatenated. Throws on a duplicate signer.
 */
export function packQuorumSignatures(signed: readonly { signer: Address; signature: Hex }[]): Hex {
  const sorted = [...signed].sort((a, b) => {
    const x = BigInt(a.signer);
    const y = BigInt(b.signer);
    return x < y ? -1 : x > y ? 1 : 0;
  });
  for (let i = 0; i < sorted.length; i++) {
    const sig = sorted[i]!.signature;
    if (!/^0x[0-9a-fA-F]{130}$/.test(sig)) {
      throw new SdkError(`Signature of ${sorted[i]!.signer} is not 65 bytes (r‖s‖v).`, { code: "INVALID_HEADER" });
    }
    if (i > 0 && BigInt(sorted[i]!.signer) === BigInt(sorted[i - 1]!.signer)) {
      throw new SdkError(`Signer ${sorted[i]!.signer} appears twice; each oracle node signs once.`, {
        code: "INVALID_HEADER",
      });
    }
  }
  return sorted.length === 0 ? "0x" : concatHex(sorted.map((s) => s.signature));
}

/** secp256k1's group order n, and n / 2: an s above it has a low twin n − s that recovers alike. */
const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const SECP256K1_HALF_N = SECP256K1_N >> 1n;

/**
 * A 65-byte signature (r ‖ s ‖ v) in the one form the OracleSet takes (OpenZeppelin's ECDSA, as
 * `ecrecover` wants it): v 27 or 28, s in the lower half of the order (its twin n − s, with v
 * flipped, recovers to the same signer). A signer may give v 0/1 (yParity: a KMS, an HSM) or a
 * high s (a malleated or foreign signature); viem's recovery takes both, the contract does not.
 * Null when v is none of 0, 1, 27, 28, r or s is not in [1, n), or the signature is not 65 bytes.
 */
export function canonicalSignature(signature: Hex): Hex | null {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return null;
  const r = signature.slice(2, 66);
  let s = BigInt(`0x${signature.slice(66, 130)}`);
  let v = parseInt(signature.slice(130, 132), 16);
  if (v === 0 || v === 1) v += 27;
  if (v !== 27 && v !== 28) return null;
  // r and s are scalars in [1, n): outside it no key signed (and n − s would go negative)
  const rValue = BigInt(`0x${r}`);
  if (rValue === 0n || rValue >= SECP256K1_N || s === 0n || s >= SECP256K1_N) return null;
  if (s > SECP256K1_HALF_N) {
    s = SECP256K1_N - s;
    v = v === 27 ? 28 : 27;
  }
  return `0x${r}${s.toString(16).padStart(64, "0")}${v.toString(16)}` as Hex;
}

/** Splits packed quorum signatures into 65-byte signatures. */
export function unpackQuorumSignatures(packed: Hex): Hex[] {
  const body = packed.slice(2);
  if (body.length % 130 !== 0) {
    throw new SdkError(`Packed signatures are ${body.length / 2} bytes, not a multiple of 65.`, {
      code: "INVALID_HEADER",
    });
  }
  const out: Hex[] = [];
  for (let i = 0; i < body.length; i += 130) out.push(`0x${body.slice(i, i + 130)}`);
  return out;
}

/** Recovers each packed signature's signer and checks the strictly increasing order. */
export async function recoverQuorumSigners(
  header: BatchHeader,
  domain: RegistryDomain,
  packed: Hex,
): Promise<Address[]> {
  const signers: Address[] = [];
  for (const sig of unpackQuorumSignatures(packed)) signers.push(await recoverBatchHeaderSigner(header, domain, sig));
  for (let i = 1; i < signers.length; i++) {
    if (BigInt(signers[i]!) <= BigInt(signers[i - 1]!)) {
      throw new SdkError("Quorum signatures are not ordered by strictly increasing signer address.", {
        code: "INVALID_HEADER",
      });
    }
  }
  return signers;
}
