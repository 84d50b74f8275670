/**
 * ignition/modules/Credits.ts (CarbonProof.ts + CreditsStack.ts) deployed as `npm start` deploys
 * it: every role of the credits contracts in place.
 */
import type { Contract } from "ethers";
import { expect } from "chai";
import { network } from "hardhat";
import CreditsModule from "../../ignition/modules/Credits.ts";
import { ROLES } from "../../ignition/modules/CreditsStack.ts";
import { DEVICE_MANAGER_ROLE } from "../../ignition/modules/CarbonProof.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

const parameters = { Credits: { feeBps: 100n } };

describe("ignition: credits stack", function () {
  it("deploys and wires CarbonCredits, RetirementCertificates, Marketplace and TestUSD", async function () {
    const signers = await ethers.getSigners();
    const d = await ignition.deploy(CreditsModule, { parameters });
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
    // the credits verifier (#5) is not an oracle node, so it can issue what the nodes attest
    expect(await d.oracleSet.isActiveNode(signers[5].address)).to.equal(false);
  });

  it("gives every role its own default account (review: #5 was credits verifier and device manager)", async function () {
    const signers = await ethers.getSigners();
    const d = await ignition.deploy(CreditsModule, { parameters });
    const holders = async (c: Contract, role: string) => {
      const out: number[] = [];
      for (let i = 0; i < signers.length; i++) if (await c.hasRole(role, signers[i]!.address)) out.push(i);
      return out;
    };
    const roles = {
      oracleNodes: (await d.oracleSet.activeNodes()).map((a: string) => signers.findIndex((s) => s.address === a)),
      registryVerifier: await holders(d.attestationRegistry, ROLES.VERIFIER),
      deviceManager: await holders(d.deviceRegistry, DEVICE_MANAGER_ROLE),
      creditsVerifier: await holders(d.credits, ROLES.VERIFIER),
      auditor: await holders(d.credits, ROLES.AUDITOR),
      arbiter: await holders(d.credits, ROLES.ARBITER),
    };
    expect(roles).to.deep.equal({
      oracleNodes: [1, 2, 3],
      registryVerifier: [4],
      deviceManager: [12],
      creditsVerifier: [5],
      auditor: [10],
      arbiter: [11],
    });
  });
});
