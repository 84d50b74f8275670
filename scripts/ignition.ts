/**
 * `npx hardhat ignition deploy MODULE` onto a local Hardhat node, as `npm start`, the browser
 * tests' stack (web/e2e/stack.ts) and the web indexer's test chain run it: the default build
 * profile (the one the tests build with, so a tested build is reused), no confirmation prompt,
 * and the node's URL in CARBONPROOF_RPC_URL (the `localhost` network of hardhat.config.ts). The
 * deployment's addresses land in ignition/deployments/DEPLOYMENT_ID/deployed_addresses.json.
 */
export function ignitionDeploy(
  module: string,
  deploymentId: string,
  rpcUrl: string,
): { command: "npx"; args: string[]; env: Record<string, string> } {
  return {
    command: "npx",
    args: [
      "hardhat",
      "--build-profile",
      "default",
      "ignition",
      "deploy",
      module,
      "--network",
      "localhost",
      "--deployment-id",
      deploymentId,
    ],
    env: { CARBONPROOF_RPC_URL: rpcUrl, HARDHAT_IGNITION_CONFIRM_DEPLOYMENT: "false" },
  };
}
