/**
 * Ids created on the chain a moment ago, for the tests of the explorer's detail pages on a miss
 * (src/lib/explorer/detail.test.ts against the embedded indexer, e2e/explorerFresh.ts against the
 * web app): a device registered to a new facility and an attestation of that facility, signed by
 * the OracleSet's quorum of local dev accounts. Everything is prepared and signed first, so that
 * `send()` only sends the two transactions and waits for them (a test mines them right after the
 * indexer synced).
 */
import assert from "node:assert/strict";
import {
  createPublicClient,
  createWalletClient,
  http,
  isAddressEqual,
  keccak256,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { mnemonicToAccount, type HDAccount } from "viem/accounts";
import { contractAbis } from "../../sdk/src/contracts/generated.ts";
import {
  chainFor,
  generateDeviceKey,
  hashBatchHeader,
  idToBytes32,
  METHODOLOGY_ID,
  packQuorumSignatures,
  publicKeyToXY,
  signBatchHeader,
  type BatchHeader,
} from "../../sdk/src/index.ts";

const DEV = "test test test test test test test test test test test junk";
export const abi = (name: string) => (contractAbis as Record<string, Abi>)[name]!;

/** The dev accounts, and the first `threshold` of them the OracleSet lists: a quorum that can sign here. */
export async function localQuorum(
  client: PublicClient,
  oracleSet: Address,
): Promise<{ accounts: HDAccount[]; signers: HDAccount[] }> {
  const accounts = Array.from({ length: 20 }, (_, i) => mnemonicToAccount(DEV, { addressIndex: i }));
  const read = <T>(functionName: string) =>
    client.readContract({ address: oracleSet, abi: abi("OracleSet"), functionName }) as Promise<T>;
  const nodes = await read<Address[]>("activeNodes");
  const threshold = Number(await read<number>("threshold"));
  const signers = accounts.filter((a) => nodes.some((n) => isAddressEqual(n, a.address))).slice(0, threshold);
  assert.equal(signers.length, threshold, "the OracleSet's quorum is local dev accounts (seed-demo's set-up)");
  return { accounts, signers };
}

export type FreshIds = {
  facility: string;
  device: string;
  attestationId: Hex;
  /** sends the device registration and the attestation; resolves once both are mined */
  send: () => Promise<{ deviceTx: Hex; attestationTx: Hex; blockNumber: bigint }>;
};

/** `tag`: lower-case letters and digits, unique per call on one chain (it names the facility and device). */
export async function prepareFreshIds(
  ctx: { rpcUrl: string; addresses: { AttestationRegistry: Address; DeviceRegistry: Address; OracleSet: Address } },
  tag: string,
): Promise<FreshIds> {
  const transport = http(ctx.rpcUrl);
  const client = createPublicClient({ transport, pollingInterval: 50 }) as PublicClient;
  const chainId = await client.getChainId();
  const chain = chainFor(chainId, ctx.rpcUrl);
  const { accounts, signers } = await localQuorum(client, ctx.addresses.OracleSet);

  const facility = `fresh-${tag}`;
  const device = `fresh-${tag}-meter`;
  const { x, y } = publicKeyToXY(generateDeviceKey().publicKey);
  const now = (await client.getBlock()).timestamp;
  const header: BatchHeader = {
    facilityId: idToBytes32(facility),
    periodStart: now - 3600n,
    periodEnd: now - 60n,
    merkleRoot: keccak256(toHex(`fresh ${tag}`)),
    readingCount: 6,
    fossilCo2eGrams: 12_345n,
    biogenicCo2Grams: 0n,
    methodologyId: METHODOLOGY_ID,
    factorSetId: keccak256(toHex("fresh factor set")),
    bundleCid: `bafkreifresh${tag}`,
    correctionOf: `0x${"00".repeat(32)}`,
  } as BatchHeader;
  const domain = { chainId, verifyingContract: ctx.addresses.AttestationRegistry };
  const signatures = packQuorumSignatures(
    await Promise.all(
      signers.map(async (a) => ({ signer: a.address, signature: await signBatchHeader(a, header, domain) })),
    ),
  );
  const wallet = (i: number) => createWalletClient({ account: accounts[i]!, chain, transport });
  const submitter = accounts.indexOf(signers[0]!);
  // Simulated now (gas estimated), so that send() is the two transactions only.
  const { request: register } = await client.simulateContract({
    account: accounts[0]!,
    address: ctx.addresses.DeviceRegistry,
    abi: abi("DeviceRegistry"),
    functionName: "registerDevice",
    args: [idToBytes32(device), idToBytes32(facility), 1, x, y, `carbonproof:test:${device}`],
  });
  const { request: submit } = await client.simulateContract({
    account: signers[0]!,
    address: ctx.addresses.AttestationRegistry,
    abi: abi("AttestationRegistry"),
    functionName: "submit",
    args: [header, signatures],
  });
  return {
    facility,
    device,
    attestationId: hashBatchHeader(header, domain),
    async send() {
      const [deviceTx, attestationTx] = await Promise.all([
        wallet(0).writeContract(register),
        wallet(submitter).writeContract(submit),
      ]);
      const receipts = await Promise.all(
        [deviceTx, attestationTx].map((hash) => client.waitForTransactionReceipt({ hash })),
      );
      for (const r of receipts) assert.equal(r.status, "success", `transaction ${r.transactionHash} reverted`);
      return {
        deviceTx,
        attestationTx,
        blockNumber: receipts.reduce((m, r) => (r.blockNumber > m ? r.blockNumber : m), 0n),
      };
    },
  };
}
