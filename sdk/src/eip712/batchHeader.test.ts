import assert from "node:assert/strict";
import { test } from "node:test";
import { TypedDataEncoder } from "ethers";
import { keccak256, toHex, type Address, type Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { idToBytes32 } from "../ids.ts";
import {
  BATCH_HEADER_TYPE,
  ZERO_BYTES32,
  batchHeaderTypes,
  canonicalSignature,
  hashBatchHeader,
  packQuorumSignatures,
  recoverBatchHeaderSigner,
  recoverQuorumSigners,
  signBatchHeader,
  verifyBatchHeaderSignature,
  type BatchHeader,
} from "./batchHeader.ts";

// TEST-ONLY keys (Hardhat's well-known default accounts #0–#2); never hold value.
const TEST_ONLY_KEYS: Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
];

const header: BatchHeader = {
  facilityId: idToBytes32("ktda-kangaita"),
  periodStart: 1763900000n,
  periodEnd: 1763903600n,
  merkleRoot: `0x${"ab".repeat(32)}`,
  readingCount: 720,
  fossilCo2eGrams: 302564n,
  biogenicCo2Grams: 12n,
  methodologyId: `0x${"01".repeat(32)}`,
  factorSetId: `0x${"02".repeat(32)}`,
  bundleCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
  correctionOf: ZERO_BYTES32,
};
const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };

test("type string matches IAttestationRegistry.BatchHeader", () => {
  const fields = batchHeaderTypes.BatchHeader.map((f) => `${f.type} ${f.name}`).join(",");
  assert.equal(BATCH_HEADER_TYPE, `BatchHeader(${fields})`);
});

test("attestation id equals an independent EIP-712 implementation (ethers TypedDataEncoder)", () => {
  const ethersDomain = { name: "CarbonProof AttestationRegistry", version: "1", ...domain };
  const expected = TypedDataEncoder.hash(ethersDomain, { BatchHeader: [...batchHeaderTypes.BatchHeader] }, header);
  assert.equal(hashBatchHeader(header, domain), expected);
  assert.equal(
    TypedDataEncoder.from({ BatchHeader: [...batchHeaderTypes.BatchHeader] }).encodeType("BatchHeader"),
    BATCH_HEADER_TYPE,
  );
  assert.notEqual(hashBatchHeader({ ...header, readingCount: 721 }, domain), expected);
  assert.notEqual(hashBatchHeader(header, { ...domain, chainId: 1 }), expected);
  assert.equal(keccak256(toHex(BATCH_HEADER_TYPE)).length, 66);
});

test("sign, recover and verify a header", async () => {
  const account = privateKeyToAccount(TEST_ONLY_KEYS[0]!);
  const sig = await signBatchHeader(account, header, domain);
  assert.equal(await recoverBatchHeaderSigner(header, domain, sig), account.address);
  assert.equal(await verifyBatchHeaderSignature(header, domain, sig, account.address), true);
  assert.equal(
    await verifyBatchHeaderSignature({ ...header, fossilCo2eGrams: 1n }, domain, sig, account.address),
    false,
  );
});

test("quorum signatures are ordered by increasing signer address and concatenated", async () => {
  const accounts = TEST_ONLY_KEYS.map((k) => privateKeyToAccount(k));
  const signed = await Promise.all(
    accounts.map(async (a) => ({ signer: a.address, signature: await signBatchHeader(a, header, domain) })),
  );
  const packed = packQuorumSignatures(signed.reverse());
  assert.equal(packed.length, 2 + 130 * 3);
  const signers = await recoverQuorumSigners(header, domain, packed);
  const sorted = [...accounts.map((a) => a.address)].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1));
  assert.deepEqual(signers, sorted);
  assert.throws(() => packQuorumSignatures([signed[0]!, signed[0]!]), { code: "INVALID_HEADER" });
  const unordered = `0x${packed.slice(132, 262)}${packed.slice(2, 132)}` as Hex;
  await assert.rejects(recoverQuorumSigners(header, domain, unordered), { code: "INVALID_HEADER" });
});

test("canonicalSignature: v 0/1 → 27/28, a high s → its low twin with v flipped; a low-s 27/28 signature unchanged; another v or length refused", async () => {
  const account = privateKeyToAccount(TEST_ONLY_KEYS[1]!);
  const sig = await signBatchHeader(account, header, domain);
  const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
  const v = parseInt(sig.slice(130), 16);
  // the high-s twin (s → n − s, v flipped) recovers to the same signer: viem takes it, ecrecover does not
  const twin =
    `0x${sig.slice(2, 66)}${(n - BigInt(`0x${sig.slice(66, 130)}`)).toString(16).padStart(64, "0")}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
  assert.notEqual(twin, sig);
  assert.equal(await recoverBatchHeaderSigner(header, domain, twin), account.address);
  assert.equal(canonicalSignature(sig), sig);
  assert.equal(canonicalSignature(`${sig.slice(0, 130)}0${v - 27}` as Hex), sig);
  assert.equal(canonicalSignature(twin), sig);
  assert.equal(canonicalSignature(`${sig.slice(0, 130)}05` as Hex), null);
  assert.equal(canonicalSignature(sig.slice(0, 130) as Hex), null);
  // an s at or past the order n, a zero r: no key signs them (n − s would be negative hex)
  const withS = (s: bigint) => `0x${sig.slice(2, 66)}${s.toString(16).padStart(64, "0")}${sig.slice(130)}` as Hex;
  assert.equal(canonicalSignature(withS(n)), null);
  assert.equal(canonicalSignature(withS(n + 5n)), null);
  assert.equal(canonicalSignature(withS(0n)), null);
  assert.equal(canonicalSignature(`0x${"00".repeat(32)}${sig.slice(66)}` as Hex), null);
});
