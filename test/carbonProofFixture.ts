/**
 * Deployment fixture shared by the contract tests: DeviceRegistry, OracleSet (5 nodes, k = 3)
 * and AttestationRegistry on a fresh in-process Hardhat network, with every role given to a
 * distinct account. Oracle nodes are local private keys: viem accounts (they sign headers through
 * the sdk) and ethers wallets (they send `submit`).
 */
import { network } from "hardhat";
import { keccak256, stringToHex, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import type { Wallet } from "ethers";
import { idToBytes32 } from "../sdk/src/ids.ts";
import {
  hashBatchHeader,
  packQuorumSignatures,
  signBatchHeader,
  ZERO_BYTES32,
  type BatchHeader,
} from "../sdk/src/eip712/batchHeader.ts";

export type Connection = Awaited<ReturnType<typeof network.create>>;

export type OracleNode = { account: PrivateKeyAccount; wallet: Wallet; privateKey: Hex };

export const FACILITY = "ktda-kangaita";
export const BUNDLE_CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi";

/** Deterministic oracle node keys, sorted by address (index i = i-th smallest address). */
export function oracleKeys(count: number, label = "oracle"): Hex[] {
  const keys = Array.from({ length: count }, (_, i) => keccak256(stringToHex(`carbonproof-test-${label}-${i}`)));
  return keys.sort((a, b) => {
    const x = BigInt(privateKeyToAccount(a).address);
    const y = BigInt(privateKeyToAccount(b).address);
    return x < y ? -1 : 1;
  });
}

export async function deployCarbonProof(connection: Connection, nodeCount = 5, threshold = 3) {
  const { ethers } = connection;
  const [admin, verifier, deviceManager, pauser, outsider] = await ethers.getSigners();

  const oracles: OracleNode[] = [];
  for (const privateKey of oracleKeys(nodeCount)) {
    const wallet = new ethers.Wallet(privateKey, ethers.provider);
    await (await admin.sendTransaction({ to: wallet.address, value: ethers.parseEther("100") })).wait();
    oracles.push({ account: privateKeyToAccount(privateKey), wallet, privateKey });
  }

  const deviceRegistry = await ethers.deployContract("DeviceRegistry", [admin.address]);
  const oracleSet = await ethers.deployContract("OracleSet", [
    admin.address,
    oracles.map((o) => o.wallet.address),
    threshold,
  ]);
  const registry = await ethers.deployContract("AttestationRegistry", [admin.address, await oracleSet.getAddress()]);
  await deviceRegistry.grantRole(await deviceRegistry.DEVICE_MANAGER_ROLE(), deviceManager.address);
  await registry.grantRole(await registry.VERIFIER_ROLE(), verifier.address);
  await registry.grantRole(await registry.PAUSER_ROLE(), pauser.address);

  const chainId = (await ethers.provider.getNetwork()).chainId;
  const domain = { chainId, verifyingContract: (await registry.getAddress()) as Hex };

  const now = async (): Promise<bigint> => BigInt((await ethers.provider.getBlock("latest"))!.timestamp);

  /** A valid regular header of FACILITY for the hour ending ~1 day ago, with `overrides`. */
  const makeHeader = async (overrides: Partial<BatchHeader> = {}): Promise<BatchHeader> => {
    const t = await now();
    return {
      facilityId: idToBytes32(FACILITY),
      periodStart: t - 90_000n,
      periodEnd: t - 86_400n,
      merkleRoot: keccak256(stringToHex("root")),
      readingCount: 720,
      fossilCo2eGrams: 1_234_567n,
      biogenicCo2Grams: 7_654_321n,
      methodologyId: keccak256(stringToHex("flue-gas-v1")),
      factorSetId: keccak256(stringToHex("ipcc-2006")),
      bundleCid: BUNDLE_CID,
      correctionOf: ZERO_BYTES32,
      ...overrides,
    };
  };

  /** Quorum signatures of `header` by the oracle nodes at `indices` (sdk: sign, sort, pack). */
  const sign = async (header: BatchHeader, indices: number[] = [0, 1, 2]): Promise<Hex> => {
    const signed = await Promise.all(
      indices.map(async (i) => ({
        signer: oracles[i]!.account.address,
        signature: await signBatchHeader(oracles[i]!.account, header, domain),
      })),
    );
    return packQuorumSignatures(signed);
  };

  /** Submits `header` signed by `indices`, sent by oracle node `from`. */
  const submit = async (header: BatchHeader, indices: number[] = [0, 1, 2], from = 0) => {
    const signatures = await sign(header, indices);
    return (registry.connect(oracles[from]!.wallet) as typeof registry).submit(header, signatures);
  };

  const idOf = (header: BatchHeader): Hex => hashBatchHeader(header, domain);

  return {
    ethers,
    admin,
    verifier,
    deviceManager,
    pauser,
    outsider,
    oracles,
    deviceRegistry,
    oracleSet,
    registry,
    chainId,
    domain,
    now,
    makeHeader,
    sign,
    submit,
    idOf,
  };
}
