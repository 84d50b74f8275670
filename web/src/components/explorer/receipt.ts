/**
 * A transaction's receipt from the chain the server reads (`serverRpc()`), with the logs of the
 * CarbonProof contracts decoded by their ABIs: what the tx page shows beside the indexer's summary.
 * The indexer interface has no per-transaction read; the receipt is the chain's own answer.
 */
import { decodeEventLog, type Abi, type Address, type Hex } from "viem";
import { contractAbis } from "../../../../sdk/src/contracts/generated.ts";
import type { DecodedEvent } from "@/lib/explorer/txEvents.ts";
import { chainClient } from "./chain.ts";
import { runtimeOnce } from "./data.ts";
import { serverRpc } from "@/lib/config.server.ts";

export type TxFacts = {
  status: "success" | "reverted";
  blockNumber: bigint;
  timestamp: bigint;
  from: Address;
  to: Address | null;
  events: DecodedEvent[];
  /** logs of other contracts (the payment token, …), counted only */
  otherLogs: number;
};

export type TxRead = { ok: true; facts: TxFacts | undefined } | { ok: false; message: string };

/** The receipt of `hash`; `facts: undefined` when the chain does not know the transaction. */
export async function readTransaction(hash: Hex): Promise<TxRead> {
  const runtime = runtimeOnce();
  const client = chainClient();
  const byAddress = new Map<string, { name: string; abi: Abi }>();
  for (const [name, address] of Object.entries(runtime.addresses)) {
    const abi = (contractAbis as Record<string, Abi | undefined>)[name];
    if (address && abi) byAddress.set(address.toLowerCase(), { name, abi });
  }
  try {
    const receipt = await client.getTransactionReceipt({ hash }).catch((cause: unknown) => {
      if ((cause as Error).name === "TransactionReceiptNotFoundError") return undefined;
      throw cause;
    });
    if (!receipt) return { ok: true, facts: undefined };
    const block = await client.getBlock({ blockNumber: receipt.blockNumber });
    const events: DecodedEvent[] = [];
    let otherLogs = 0;
    for (const log of receipt.logs) {
      const contract = byAddress.get(log.address.toLowerCase());
      if (!contract) {
        otherLogs++;
        continue;
      }
      const decoded = decodeEventLog({ abi: contract.abi, data: log.data, topics: log.topics, strict: false });
      events.push({
        contract: contract.name,
        eventName: decoded.eventName ?? "unknown event",
        logIndex: log.logIndex,
        args: (decoded.args ?? {}) as Record<string, unknown>,
      });
    }
    return {
      ok: true,
      facts: {
        status: receipt.status,
        blockNumber: receipt.blockNumber,
        timestamp: block.timestamp,
        from: receipt.from,
        to: receipt.to,
        events,
        otherLogs,
      },
    };
  } catch (cause) {
    // viem's message quotes the URL it called: shown on the page, it is scrubbed like the URL itself
    const rpc = serverRpc();
    console.error(`explorer: reading transaction ${hash} from ${rpc.shown} failed: ${rpc.scrub(String(cause))}`);
    return {
      ok: false,
      message: `the chain at ${rpc.shown} could not be read: ${rpc.scrub((cause as Error).message ?? String(cause))}`,
    };
  }
}
