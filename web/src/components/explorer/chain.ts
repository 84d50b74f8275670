/**
 * Reads the explorer makes from the chain itself (server side, CARBONPROOF_SERVER_RPC_URL or else
 * CARBONPROOF_RPC_URL: `serverRpc()`), where the
 * indexer interface has no answer: payment-token symbols and decimals, transaction receipts.
 */
import { createPublicClient, http, type Address, type PublicClient } from "viem";
import { readPaymentToken, type PaymentTokenInfo } from "@/lib/chain/reads.ts";
import { serverRpc } from "@/lib/config.server.ts";

let client: { rpcUrl: string; client: PublicClient } | undefined;

export function chainClient(): PublicClient {
  const rpcUrl = serverRpc().url;
  if (client?.rpcUrl !== rpcUrl)
    client = {
      rpcUrl,
      client: createPublicClient({
        transport: http(rpcUrl, { retryCount: 1, timeout: 10_000, batch: true }),
      }) as PublicClient,
    };
  return client.client;
}

/** A token's symbol and decimals never change: read once per process. */
const tokens = new Map<string, Promise<PaymentTokenInfo>>();

/**
 * Symbol and decimals of each payment token; a token whose metadata cannot be read is left out
 * (its amounts are then shown in base units, and the failure logged).
 */
export async function paymentTokens(addresses: readonly Address[]): Promise<Map<string, PaymentTokenInfo>> {
  const out = new Map<string, PaymentTokenInfo>();
  await Promise.all(
    [...new Set(addresses.map((a) => a.toLowerCase()))].map(async (a) => {
      let info = tokens.get(a);
      if (!info) {
        info = readPaymentToken(chainClient(), a as Address);
        tokens.set(a, info);
        info.catch((cause: unknown) => {
          tokens.delete(a);
          console.error(`explorer: payment token ${a} has no readable symbol/decimals`, cause);
        });
      }
      const value = await info.catch(() => undefined);
      if (value) out.set(a, value);
    }),
  );
  return out;
}
