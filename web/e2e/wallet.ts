/**
 * An EIP-1193 wallet for the browser tests: `window.ethereum` in the page forwards
 * each request to Node (page.exposeFunction), which answers account requests itself
 * and sends the rest to the local Hardhat node, whose dev accounts are unlocked (so
 * eth_sendTransaction is signed by the node: the real signing path of a wallet is
 * not under test here, the dApp's requests are).
 *
 * `eth_accounts` returns [] until the page calls `eth_requestAccounts`, so the app
 * shows its Connect button first, as with a real wallet.
 */
import type { Page } from "playwright-core";

export type WalletOptions = {
  /** Chain the wallet starts on (a wrong one exercises the network prompt); it follows wallet_switchEthereumChain. */
  chainId?: number;
  /** Answer every transaction request with EIP-1193 error 4001, as a user pressing "Reject" would. */
  rejectTransactions?: boolean;
};

export async function injectWallet(
  page: Page,
  rpcUrl: string,
  account: string,
  options: WalletOptions = {},
): Promise<void> {
  let connected = false;
  let chainId = options.chainId ?? 31337;
  await page.exposeFunction("__carbonproofWallet", async (method: string, params: unknown[]) => {
    switch (method) {
      case "eth_accounts":
        return connected ? [account] : [];
      case "eth_requestAccounts":
        connected = true;
        return [account];
      case "eth_chainId":
        return `0x${chainId.toString(16)}`;
      case "net_version":
        return String(chainId);
      case "wallet_switchEthereumChain": {
        const requested = (params[0] as { chainId: string }).chainId;
        chainId = Number(requested);
        return { __chainChanged: requested };
      }
      case "wallet_addEthereumChain":
        return null;
      case "eth_sendTransaction":
        if (options.rejectTransactions) return { __error: { code: 4001, message: "User rejected the request." } };
        return forward(method, params);
      case "wallet_requestPermissions":
        connected = true;
        return [{ parentCapability: "eth_accounts" }];
      case "wallet_getPermissions":
        return connected ? [{ parentCapability: "eth_accounts" }] : [];
      case "wallet_revokePermissions":
        connected = false;
        return null;
      default:
        return forward(method, params);
    }
  });
  async function forward(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) return { __error: body.error };
    return body.result;
  }
  await page.addInitScript(() => {
    type Listener = (...args: unknown[]) => void;
    const listeners = new Map<string, Set<Listener>>();
    const emit = (event: string, ...args: unknown[]) => listeners.get(event)?.forEach((l) => l(...args));
    const call = (window as unknown as { __carbonproofWallet: (m: string, p: unknown[]) => Promise<unknown> })
      .__carbonproofWallet;
    const provider = {
      isMetaMask: false,
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const result = (await call(method, params ?? [])) as {
          __error?: { code: number; message: string; data?: unknown };
        };
        if (result && typeof result === "object" && "__error" in result && result.__error) {
          const e = new Error(result.__error.message) as Error & { code: number; data?: unknown };
          e.code = result.__error.code;
          e.data = result.__error.data;
          throw e;
        }
        if (method === "eth_requestAccounts") setTimeout(() => emit("accountsChanged", result), 0);
        if (result && typeof result === "object" && "__chainChanged" in result) {
          const id = (result as { __chainChanged: string }).__chainChanged;
          setTimeout(() => emit("chainChanged", id), 0);
          return null;
        }
        return result;
      },
      on(event: string, l: Listener) {
        if (!listeners.has(event)) listeners.set(event, new Set());
        listeners.get(event)!.add(l);
        return provider;
      },
      removeListener(event: string, l: Listener) {
        listeners.get(event)?.delete(l);
        return provider;
      },
    };
    Object.defineProperty(window, "ethereum", { value: provider, configurable: true });
  });
}
