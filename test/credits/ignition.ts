/**
 * The Ignition wiring of the credits contracts (ignition/modules/CreditsStack.ts, used by
 * Credits.ts) deployed on the real attestation contracts, then used: every role in place.
 */
import { expect } from "chai";
import { network } from "hardhat";
import { buildModule } from "@nomicfoundation/hardhat-ignition/modules";
import { creditsStack, ROLES } from "../../ignition/modules/CreditsStack.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

// Stands in for ignition/modules/CarbonProof.ts (the attestation module of branch main) in this test.
const AttestationForTest = buildModule("AttestationForTest", (m) => {
  const nodes = [m.getAccount(1), m.getAccount(2), m.getAccount(3)];
  const oracleSet = m.contract("OracleSet", [m.getAccount(0), nodes, 2]);
  const attestationRegistry = m.contract("AttestationRegistry", [m.getAccount(0), oracleSet]);
  return { oracleSet, attestationRegistry };
});

const CreditsForTest = buildModule("CreditsForTest", (m) => {
  const { attestationRegistry, oracleSet } = m.useModule(AttestationForTest);
  return { attestationRegistry, oracleSet, ...creditsStack(m, attestationRegistry) };
});

describe("ignition: credits stack", function () {
  it("deploys and wires CarbonCredits, RetirementCertificates, Marketplace and TestUSD", async function () {
    const signers = await ethers.getSigners();
    const d = await ignition.deploy(CreditsForTest, { parameters: { CreditsForTest: { feeBps: 100n } } });
    const credits = d.credits;
    const certificates = d.certificates;
    const market = d.market;
    const addr = (c: { getAddress(): Promise<string> }) => c.getAddress();
    expect(await credits.certificates()).to.equal(await addr(certificates));
    expect(await credits.registry()).to.equal(await addr(d.attestationRegistry));
    expect(await credits.challengeWindow()).to.equal(3n * 86_400n);
    expect(await credits.hasRole(ROLES.VERIFIER, signers[5].address)).to.equal(true);
    expect(await credits.hasRole(ROLES.AUDITOR, signers[10].address)).to.equal(true);
    expect(await credits.hasRole(ROLES.ARBITER, signers[11].address)).to.equal(true);
    expect(await credits.hasRole(ROLES.PAUSER, signers[0].address)).to.equal(true);
    expect(await d.attestationRegistry.hasRole(ROLES.VERIFIER, await addr(credits))).to.equal(true);
    expect(await certificates.hasRole(ROLES.ESCROW, await addr(market))).to.equal(true);
    expect(await market.isPaymentToken(await addr(d.testUsd))).to.equal(true);
    expect(await market.isPaymentToken(ethers.ZeroAddress)).to.equal(true);
    expect(await market.feeBps()).to.equal(100n);
    expect(await market.treasury()).to.equal(signers[0].address);
    expect(await d.testUsd.decimals()).to.equal(6n);
  });
});
