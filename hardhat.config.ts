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

/**
 * CarbonCredits is optimized for fewer runs: at 10,000 its runtime code passes the 24,576-byte
 * limit (EIP-170); at 2,000 it keeps ~300 bytes of room, and issuance costs ~300 gas more
 * (docs/credits.md, "Gas"). The override applies to CarbonCredits.sol compiled as itself (the
 * artifact that mocha, Ignition and the sdk use); Solidity tests that import it compile it at
 * 10,000 and solc warns about its size there, harmlessly: their EVM has no code-size limit.
 */
const profile = {
  compilers: [compiler],
  overrides: {
    "contracts/credits/CarbonCredits.sol": {
      ...compiler,
      settings: { ...compiler.settings, optimizer: { enabled: true, runs: 2_000 } },
    },
  },
};

export default defineConfig({
  plugins: [hardhatToolboxMochaEthers],
  solidity: {
    // OpenZeppelin's TimelockController, deployed as is by ignition/modules/AdminTimelock.ts to hold
    // every contract's admin role in production (docs/contracts.md, "Roles"). Hardhat builds only
    // the sources it is told about: contracts/ and these npm files.
    npmFilesToBuild: ["@openzeppelin/contracts/governance/TimelockController.sol"],
    // The same settings for every build profile: `hardhat ignition deploy` builds with the
    // `production` profile, and without viaIR some contracts hit "stack too deep".
    profiles: { default: profile, production: profile },
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
