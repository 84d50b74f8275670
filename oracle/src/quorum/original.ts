import type { PublicClient } from "viem";
import type { BatchHeader, Hex } from "../../../sdk/src/index.ts";
import type { Address } from "../batch/pipeline.ts";
import { attestationRegistryAbi } from "../chain/abi.ts";
import { firstStampedFrom } from "../chain/viem.ts";

/**
 * The header of attestation `id` as the registry recorded it (its `AttestationSubmitted` event:
 * the record itself holds no header), or null when the registry holds no such attestation. The
 * event is looked for only in the blocks stamped with the record's `submittedAt` (found by
 * bisection over block headers, as `ViemChain.attestedIn` does). Throws when the RPC node cannot
 * answer, or the registry has the record but its event is not found (a pruned log index): the
 * co-signer then cannot check the correction, and says so.
 */
export async function readAttestationHeader(
  client: PublicClient,
  registry: Address,
  id: Hex,
): Promise<BatchHeader | null> {
  const known = await client.readContract({
    address: registry,
    abi: attestationRegistryAbi,
    functionName: "exists",
    args: [id],
  });
  if (!known) return null;
  const record = await client.readContract({
    address: registry,
    abi: attestationRegistryAbi,
    functionName: "getAttestation",
    args: [id],
  });
  const at = BigInt(record.submittedAt);
  const head = await client.getBlockNumber({ cacheTime: 0 });
  const fromBlock = await firstStampedFrom(client, at, 0n, head);
  const toBlock = fromBlock > head ? head : (await firstStampedFrom(client, at + 1n, fromBlock, head)) - 1n;
  const logs =
    fromBlock > head
      ? []
      : await client.getContractEvents({
          address: registry,
          abi: attestationRegistryAbi,
          eventName: "AttestationSubmitted",
          args: { id },
          fromBlock,
          toBlock,
        });
  const header = logs.find((l) => !l.removed && l.args.header)?.args.header as BatchHeader | undefined;
  if (!header)
    throw new Error(`the registry holds attestation ${id}, but its AttestationSubmitted event was not found`);
  return header;
}
