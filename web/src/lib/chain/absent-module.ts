/**
 * Stand-in for the Coinbase CDP SDK, which wagmi's Base Account connector imports
 * and which in turn imports optional `@x402/*` packages that are not installed.
 * This app offers the injected wallet only, so nothing here is ever called. See
 * next.config.ts.
 */
export class CdpClient {
  constructor() {
    throw new Error("The Coinbase CDP SDK is not part of the CarbonProof web app (injected wallets only).");
  }
}
export default { CdpClient };
