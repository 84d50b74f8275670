import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxMochaEthers from "@nomicfoundation/hardhat-toolbox-mocha-ethers";

const require = createRequire(import.meta.url);

/**
 * Solidity is compiled with the npm `solc` package (soljson), pinned to the exact
 * version below: Hardhat's default compiler download cannot run offline.
 */
const compiler = {
  version: "0.8.37",
  path: require.resolve("solc/soljson.js"),
  settings: {
    evmVersion: "osaka",
    optimizer: { enabled: true, runs: 10_000 },
    viaIR: true,
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // The same settings for every build profile: `hardhat ignition deploy` builds with the
    // `production` profile, and without viaIR some contracts hit "stack too deep".
    profiles: { default: compiler, production: compiler },
  },
  paths: {
    sources: "./contracts",
    tests: { mocha: "./test", solidity: "./test" },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1", hardfork: "osaka" },
    localhost: { type: "http", chainType: "l1", url: process.env.CARBONPROOF_RPC_URL ?? "http://127.0.0.1:8545" },
  },
});
