/**
 * The whole local stack: the attestation contracts (CarbonProof.ts) plus CarbonCredits,
 * RetirementCertificates, Marketplace and TestUSD, wired (see CreditsStack.ts for every role).
 * `npm start` deploys this module when it exists.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import CarbonProofModule from "./CarbonProof.ts";
import { creditsStack } from "./CreditsStack.ts";

export default buildModule("Credits", (m) => {
  const carbonProof = m.useModule(CarbonProofModule);
  const stack = creditsStack(m, carbonProof.attestationRegistry);
  return { ...carbonProof, ...stack };
});
