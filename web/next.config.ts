import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";
import { dirname, join, relative } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

/**
 * Interim, until the credits contracts are in sdk/src/contracts/generated.ts: ABIs come from
 * Hardhat's build artifacts (never copied by hand). CARBONPROOF_ARTIFACTS overrides the folder.
 */
const artifacts = process.env.CARBONPROOF_ARTIFACTS ?? join(here, "..", "artifacts");
const artifactFiles = {
  AttestationRegistry: "attestation/AttestationRegistry.sol/AttestationRegistry.json",
  OracleSet: "oracles/OracleSet.sol/OracleSet.json",
  DeviceRegistry: "devices/DeviceRegistry.sol/DeviceRegistry.json",
  CarbonCredits: "credits/CarbonCredits.sol/CarbonCredits.json",
  RetirementCertificates: "retirement/RetirementCertificates.sol/RetirementCertificates.json",
  Marketplace: "market/Marketplace.sol/Marketplace.json",
  TestUSD: "test/TestUSD.sol/TestUSD.json",
};
const artifactAliases = Object.fromEntries(
  Object.entries(artifactFiles).map(([name, file]) => [
    `@cp-artifacts/${name}`,
    // Turbopack wants aliases relative to this folder.
    `./${relative(here, join(artifacts, "contracts", file))}`,
  ]),
);

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  // The sdk is TypeScript source inside the same npm workspace.
  transpilePackages: ["@carbonproof/sdk"],
  turbopack: {
    root: join(here, ".."),
    resolveAlias: {
      ...artifactAliases,
      // wagmi's Base Account connector pulls in the Coinbase CDP SDK and, through it, optional
      // `@x402/*` packages that are not installed; this app offers the injected wallet only.
      "@coinbase/cdp-sdk": "./src/lib/chain/absent-module.ts",
    },
  },
};

export default config;
