/**
 * Deploys and wires the attestation half of CarbonProof: DeviceRegistry, OracleSet and
 * AttestationRegistry (docs/contracts.md).
 *
 * The deploying account (account 0) becomes `DEFAULT_ADMIN_ROLE` of all three. Parameters
 * (module id "CarbonProof"), with defaults for a local Hardhat node (the well-known accounts of
 * Hardhat's default mnemonic — never use them on a public chain):
 * - `oracleNodes` (address[]): oracle node accounts, indices 0… in this order
 *   (default accounts #1, #2, #3)
 * - `threshold` (number): quorum k (default 2)
 * - `verifier` (address): VERIFIER_ROLE on AttestationRegistry (default account #4)
 * - `deviceManager` (address): DEVICE_MANAGER_ROLE on DeviceRegistry (default account #12: #5 is the
 *   credits verifier of CreditsStack.ts, and no default account holds two roles)
 * - `pauser` (address): PAUSER_ROLE on AttestationRegistry (default account 0)
 *
 * Other modules build on it with `m.useModule(CarbonProofModule)` and get its futures
 * `{ deviceRegistry, oracleSet, attestationRegistry }`.
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { id } from "ethers";

/** Hardhat default-mnemonic accounts #1–#3 (local development only). */
export const LOCAL_ORACLE_NODES = [
  "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
  "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
  "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
];

export const DEVICE_MANAGER_ROLE = id("DEVICE_MANAGER_ROLE");
export const VERIFIER_ROLE = id("VERIFIER_ROLE");
export const PAUSER_ROLE = id("PAUSER_ROLE");

const CarbonProofModule = buildModule("CarbonProof", (m) => {
  const deployer = m.getAccount(0);
  const oracleNodes = m.getParameter("oracleNodes", LOCAL_ORACLE_NODES);
  const threshold = m.getParameter("threshold", 2);
  const verifier = m.getParameter("verifier", m.getAccount(4));
  const deviceManager = m.getParameter("deviceManager", m.getAccount(12));
  const pauser = m.getParameter("pauser", deployer);

  const deviceRegistry = m.contract("DeviceRegistry", [deployer]);
  const oracleSet = m.contract("OracleSet", [deployer, oracleNodes, threshold]);
  const attestationRegistry = m.contract("AttestationRegistry", [deployer, oracleSet]);

  m.call(deviceRegistry, "grantRole", [DEVICE_MANAGER_ROLE, deviceManager], { id: "grantDeviceManager" });
  m.call(attestationRegistry, "grantRole", [VERIFIER_ROLE, verifier], { id: "grantVerifier" });
  m.call(attestationRegistry, "grantRole", [PAUSER_ROLE, pauser], { id: "grantPauser" });

  return { deviceRegistry, oracleSet, attestationRegistry };
});

export default CarbonProofModule;
