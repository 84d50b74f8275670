/**
 * The production deployment: the whole stack of Credits.ts (CarbonProof.ts + CreditsStack.ts),
 * wired as there, then every contract's admin handed to an OpenZeppelin `TimelockController`, so
 * that every admin action (an oracle node added, the quorum lowered, a verifier granted, a
 * challenge window shortened, …) is public for `minDelaySeconds` before it can run
 * (docs/contracts.md, "Roles").
 *
 * A separate module rather than an optional parameter of Credits.ts: an Ignition module's futures
 * are fixed before its parameters are read, so "deploy a timelock when a parameter is given" cannot
 * be one module. Credits.ts and CarbonProof.ts (`npm start`, tests) are unchanged.
 *
 * Parameters (module id "AdminTimelock"; none has a default):
 * - `proposers` (address[]): PROPOSER_ROLE and CANCELLER_ROLE of the timelock (a multisig or a
 *   governor)
 * - `executors` (address[]): EXECUTOR_ROLE; `["0x0000000000000000000000000000000000000000"]` lets
 *   anyone execute an operation once its delay has passed
 * - `minDelaySeconds` (number): the timelock's minimum delay
 * - `pauser` (address): PAUSER_ROLE on AttestationRegistry, CarbonCredits and Marketplace (the
 *   incident account: pausing stays immediate)
 * The role holders of CarbonProof.ts and Credits.ts (`oracleNodes`, `verifier`, `deviceManager`,
 * `auditor`, `arbiter`, `treasury`, …) must be given too: their defaults are Hardhat's public
 * development accounts.
 *
 * After the set-up the deployer (account 0) renounces every role it held (admin of the six
 * contracts, pauser of three) and keeps none; the timelock has no admin but itself. TestUSD, which
 * anyone can mint, is removed from the Marketplace's payment tokens: a real stablecoin is added
 * through the timelock (`setPaymentToken`).
 */
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import type { Future } from "@nomicfoundation/ignition-core";
import { ZeroAddress, ZeroHash } from "ethers";
import CarbonProofModule, { PAUSER_ROLE } from "./CarbonProof.ts";
import CreditsModule from "./Credits.ts";

export const DEFAULT_ADMIN_ROLE = ZeroHash;

export default buildModule("AdminTimelock", (m) => {
  const stack = m.useModule(CreditsModule);
  const deployer = m.getAccount(0);
  const proposers = m.getParameter<string[]>("proposers");
  const executors = m.getParameter<string[]>("executors");
  const minDelaySeconds = m.getParameter<bigint>("minDelaySeconds");
  const pauser = m.getParameter<string>("pauser");

  // admin = address(0): the timelock administers only itself, through its own delay.
  const timelock = m.contract("TimelockController", [minDelaySeconds, proposers, executors, ZeroAddress]);

  // Every call the deployer makes in Credits.ts and CarbonProof.ts (both named: depending on a
  // module does not cover the modules it uses) runs before any renounce below.
  const setUp = [CreditsModule, CarbonProofModule];
  const disallowTestUsd = m.call(stack.market, "setPaymentToken", [stack.testUsd, false], {
    id: "disallowTestUsd",
    after: setUp,
  });

  // `last`: admin calls of the deployer on that contract, besides the set-up, to run before it
  // renounces its admin.
  const contracts = [
    { name: "DeviceRegistry", future: stack.deviceRegistry, pausable: false, last: [] },
    { name: "OracleSet", future: stack.oracleSet, pausable: false, last: [] },
    { name: "AttestationRegistry", future: stack.attestationRegistry, pausable: true, last: [] },
    { name: "CarbonCredits", future: stack.credits, pausable: true, last: [] },
    { name: "RetirementCertificates", future: stack.certificates, pausable: false, last: [] },
    { name: "Marketplace", future: stack.market, pausable: true, last: [disallowTestUsd] },
  ];
  for (const { name, future, pausable, last } of contracts) {
    const adminCalls: Future[] = [...last];
    if (pausable) {
      adminCalls.push(
        m.call(future, "grantRole", [PAUSER_ROLE, pauser], { id: `${name}_grantPauser` }),
        m.call(future, "renounceRole", [PAUSER_ROLE, deployer], { id: `${name}_renouncePauser`, after: setUp }),
      );
    }
    adminCalls.push(
      m.call(future, "grantRole", [DEFAULT_ADMIN_ROLE, timelock], { id: `${name}_grantAdminToTimelock` }),
    );
    m.call(future, "renounceRole", [DEFAULT_ADMIN_ROLE, deployer], {
      id: `${name}_renounceAdmin`,
      after: [...setUp, ...adminCalls],
    });
  }

  return { ...stack, timelock };
});
