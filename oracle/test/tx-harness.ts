import type { Hex } from "viem";
import { HardhatNode, deploy, type Deployment } from "./chain-harness.ts";
import type { TestDevice } from "./fixtures.ts";

/**
 * A Hardhat node with the contracts deployed and `devices` registered, then automine off: from
 * there on the test mines every block itself, so "not mined yet" and "N confirmations" are exact
 * (tx-follow and rotation-tx tests).
 */
export async function manualMiningChain(devices: TestDevice[]): Promise<{
  hh: HardhatNode;
  dep: Deployment;
  mine(blocks?: number): Promise<void>;
  /** Whether the Hardhat node knows the transaction (in its mempool or mined). */
  inMempool(hash: string): Promise<boolean>;
  /** The registry's `AttestationSubmitted` events of one id: one per attestation that took. */
  submissions(attestationId: string): Promise<unknown[]>;
}> {
  const hh = await HardhatNode.start();
  try {
    const dep = await deploy(hh.url);
    for (const d of devices) await dep.registerDevice(d.deviceId, d.facilityId, d.publicKey, 1);
    await hh.rpc("evm_setAutomine", [false]);
    return {
      hh,
      dep,
      async mine(blocks = 1) {
        for (let i = 0; i < blocks; i++) await hh.rpc("evm_mine");
      },
      inMempool: async (hash) => (await hh.rpc<unknown>("eth_getTransactionByHash", [hash])) !== null,
      submissions: (attestationId) =>
        dep.publicClient.getContractEvents({
          address: dep.attestationRegistry,
          abi: dep.abis.attestationRegistry,
          eventName: "AttestationSubmitted",
          args: { id: attestationId as Hex },
          fromBlock: 0n,
        }),
    };
  } catch (err) {
    await hh.stop();
    throw err;
  }
}
