/**
 * The credits half of the deployment, as a function of an already deployed AttestationRegistry
 * future, so that ignition/modules/Credits.ts (on top of CarbonProof.ts) and the module test share
 * one definition of the wiring.
 *
 * Roles (the deployer, account #0, is admin of everything it deploys):
 * - CarbonCredits: VERIFIER_ROLE → `verifier` (default account #5, as scripts/seed-demo.ts expects;
 *   not an oracle node: it must not co-sign what it issues; no other default role is #5's, the
 *   device manager is #12); AUDITOR_ROLE → `auditor` (default #10);
 *   ARBITER_ROLE → `arbiter` (default #11; never the auditor: nobody resolves their own challenge);
 *   PAUSER_ROLE → deployer.
 * - AttestationRegistry: VERIFIER_ROLE → CarbonCredits (an upheld challenge revokes the attestation).
 * - RetirementCertificates: ESCROW_ROLE → Marketplace (buy-and-retire burns from escrow).
 * - Marketplace: PAUSER_ROLE → deployer; payment tokens TestUSD and native currency; fee
 *   `feeBps` (default 250 = 2.5 %) to `treasury` (default deployer).
 */
import type { CallableContractFuture, IgnitionModuleBuilder } from "@nomicfoundation/ignition-core";
import { id, ZeroAddress } from "ethers";

export const ROLES = {
  VERIFIER: id("VERIFIER_ROLE"),
  AUDITOR: id("AUDITOR_ROLE"),
  ARBITER: id("ARBITER_ROLE"),
  PAUSER: id("PAUSER_ROLE"),
  ESCROW: id("ESCROW_ROLE"),
};

export function creditsStack(m: IgnitionModuleBuilder, registry: CallableContractFuture<string>) {
  const deployer = m.getAccount(0);
  const verifier = m.getParameter("verifier", m.getAccount(5));
  const auditor = m.getParameter("auditor", m.getAccount(10));
  const arbiter = m.getParameter("arbiter", m.getAccount(11));
  const treasury = m.getParameter("treasury", m.getAccount(0));
  const challengeWindow = m.getParameter("challengeWindowSeconds", 3n * 86_400n);
  const feeBps = m.getParameter("feeBps", 250n);
  const explorerBaseUrl = m.getParameter("explorerBaseUrl", "http://localhost:3000");

  const credits = m.contract("CarbonCredits", [registry, deployer, challengeWindow]);
  const certificates = m.contract("RetirementCertificates", [credits, deployer]);
  const market = m.contract("Marketplace", [credits, certificates, deployer, treasury, feeBps]);
  const testUsd = m.contract("TestUSD", []);

  m.call(credits, "setCertificates", [certificates]);
  m.call(credits, "setExplorerBaseUrl", [explorerBaseUrl]);
  m.call(credits, "grantRole", [ROLES.VERIFIER, verifier], { id: "grantCreditsVerifier" });
  m.call(credits, "grantRole", [ROLES.AUDITOR, auditor], { id: "grantCreditsAuditor" });
  m.call(credits, "grantRole", [ROLES.ARBITER, arbiter], { id: "grantCreditsArbiter" });
  m.call(credits, "grantRole", [ROLES.PAUSER, deployer], { id: "grantCreditsPauser" });
  m.call(registry, "grantRole", [ROLES.VERIFIER, credits], { id: "grantRegistryVerifierToCredits" });
  m.call(certificates, "grantRole", [ROLES.ESCROW, market], { id: "grantEscrowToMarket" });
  m.call(market, "grantRole", [ROLES.PAUSER, deployer], { id: "grantMarketPauser" });
  m.call(market, "setPaymentToken", [testUsd, true], { id: "allowTestUsd" });
  m.call(market, "setPaymentToken", [ZeroAddress, true], { id: "allowNative" });

  return { credits, certificates, market, testUsd };
}
