/**
 * ignition/modules/AdminTimelock.ts, the production deployment: every contract's admin is a
 * TimelockController, the deployer keeps no role, and an admin action runs only through the
 * timelock, after its delay.
 */
import type { Contract } from "ethers";
import type { HardhatEthersSigner } from "@nomicfoundation/hardhat-ethers/types";
import { expect } from "chai";
import { network } from "hardhat";
import AdminTimelockModule, { DEFAULT_ADMIN_ROLE } from "../../ignition/modules/AdminTimelock.ts";
import { PAUSER_ROLE } from "../../ignition/modules/CarbonProof.ts";
import { ROLES } from "../../ignition/modules/CreditsStack.ts";

const connection = await network.create();
const { ethers, ignition, networkHelpers } = connection;

const DELAY_SECONDS = 2n * 86_400n;

describe("Ignition module AdminTimelock", function () {
  async function deployed() {
    const signers = await ethers.getSigners();
    const [proposer, executor, pauser, outsider] = [13, 14, 15, 16].map((i) => signers[i]!);
    const d = await ignition.deploy(AdminTimelockModule, {
      parameters: {
        AdminTimelock: {
          proposers: [proposer.address],
          executors: [executor.address],
          minDelaySeconds: DELAY_SECONDS,
          pauser: pauser.address,
        },
      },
    });
    const contracts: Record<string, Contract> = {
      DeviceRegistry: d.deviceRegistry,
      OracleSet: d.oracleSet,
      AttestationRegistry: d.attestationRegistry,
      CarbonCredits: d.credits,
      RetirementCertificates: d.certificates,
      Marketplace: d.market,
    };
    return {
      d,
      contracts,
      deployer: signers[0]!,
      proposer: proposer!,
      executor: executor!,
      pauser: pauser!,
      outsider: outsider!,
    };
  }

  /** Every `*_ROLE` constant of `c`'s ABI (DEFAULT_ADMIN_ROLE among them), by name. */
  async function rolesOf(c: Contract): Promise<Record<string, string>> {
    const names: string[] = [];
    c.interface.forEachFunction((f) => {
      if (/_ROLE$/.test(f.name) && f.inputs.length === 0) names.push(f.name);
    });
    return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await c.getFunction(n)()])));
  }

  /** `c` called by `signer` (ethers types `connect` as returning a BaseContract). */
  const by = (c: Contract, signer: HardhatEthersSigner) => c.connect(signer) as Contract;

  it("hands every contract's admin to the timelock and leaves the deployer no role", async function () {
    const { d, contracts, deployer, proposer, executor, pauser } = await networkHelpers.loadFixture(deployed);
    const timelock = await d.timelock.getAddress();
    for (const [name, c] of Object.entries(contracts)) {
      const roles = await rolesOf(c);
      expect(Object.keys(roles), name).to.include("DEFAULT_ADMIN_ROLE");
      const held = [];
      for (const [role, value] of Object.entries(roles)) if (await c.hasRole(value, deployer.address)) held.push(role);
      expect(held, `${name}: roles of the deployer`).to.deep.equal([]);
      expect(await c.hasRole(DEFAULT_ADMIN_ROLE, timelock), `${name}: timelock is admin`).to.equal(true);
      if ("PAUSER_ROLE" in roles) expect(await c.hasRole(PAUSER_ROLE, pauser.address), name).to.equal(true);
    }
    // the timelock: the given proposers, executors and delay, administered only by itself
    expect(await d.timelock.getMinDelay()).to.equal(DELAY_SECONDS);
    expect(await d.timelock.hasRole(await d.timelock.PROPOSER_ROLE(), proposer.address)).to.equal(true);
    expect(await d.timelock.hasRole(await d.timelock.EXECUTOR_ROLE(), executor.address)).to.equal(true);
    expect(await d.timelock.hasRole(DEFAULT_ADMIN_ROLE, deployer.address)).to.equal(false);
    expect(await d.timelock.hasRole(DEFAULT_ADMIN_ROLE, timelock)).to.equal(true);
    // the wiring of Credits.ts is in place; TestUSD (anyone can mint it) is no payment token
    expect(await d.oracleSet.threshold()).to.equal(2);
    expect(await d.credits.certificates()).to.equal(await d.certificates.getAddress());
    expect(await d.attestationRegistry.hasRole(ROLES.VERIFIER, await d.credits.getAddress())).to.equal(true);
    expect(await d.certificates.hasRole(ROLES.ESCROW, await d.market.getAddress())).to.equal(true);
    expect(await d.market.isPaymentToken(await d.testUsd.getAddress())).to.equal(false);
    expect(await d.market.isPaymentToken(ethers.ZeroAddress)).to.equal(true);
  });

  it("refuses the deployer's admin calls and keeps pausing immediate for the pauser", async function () {
    const { d, deployer, pauser } = await networkHelpers.loadFixture(deployed);
    const unauthorized = async (call: Promise<unknown>, c: Contract, role: string) =>
      expect(call)
        .to.be.revertedWithCustomError(c, "AccessControlUnauthorizedAccount")
        .withArgs(deployer.address, role);
    await unauthorized(by(d.oracleSet, deployer).addNode(deployer.address), d.oracleSet, DEFAULT_ADMIN_ROLE);
    await unauthorized(by(d.oracleSet, deployer).setThreshold(1), d.oracleSet, DEFAULT_ADMIN_ROLE);
    await unauthorized(
      by(d.credits, deployer).grantRole(ROLES.VERIFIER, deployer.address),
      d.credits,
      DEFAULT_ADMIN_ROLE,
    );
    await unauthorized(by(d.credits, deployer).setChallengeWindow(1), d.credits, DEFAULT_ADMIN_ROLE);
    await unauthorized(by(d.market, deployer).pause(), d.market, PAUSER_ROLE);
    await by(d.attestationRegistry, pauser).pause();
    expect(await d.attestationRegistry.paused()).to.equal(true);
  });

  it("runs an admin action scheduled by a proposer only once the delay has passed", async function () {
    const { d, proposer, executor } = await networkHelpers.loadFixture(deployed);
    const timelock = d.timelock;
    const op = [
      await d.oracleSet.getAddress(),
      0n,
      d.oracleSet.interface.encodeFunctionData("setThreshold", [3]),
    ] as const;
    const [predecessor, salt] = [ethers.ZeroHash, ethers.id("threshold 3")];
    await expect(
      by(timelock, proposer).schedule(...op, predecessor, salt, DELAY_SECONDS - 1n),
    ).to.be.revertedWithCustomError(timelock, "TimelockInsufficientDelay");
    await by(timelock, proposer).schedule(...op, predecessor, salt, DELAY_SECONDS);
    await expect(by(timelock, executor).execute(...op, predecessor, salt)).to.be.revertedWithCustomError(
      timelock,
      "TimelockUnexpectedOperationState",
    );
    await networkHelpers.time.increase(DELAY_SECONDS);
    await by(timelock, executor).execute(...op, predecessor, salt);
    expect(await d.oracleSet.threshold()).to.equal(3);
  });

  it("lets no one but a proposer schedule", async function () {
    const { d, deployer, executor, outsider } = await networkHelpers.loadFixture(deployed);
    const op = [
      await d.oracleSet.getAddress(),
      0n,
      d.oracleSet.interface.encodeFunctionData("setThreshold", [1]),
    ] as const;
    for (const account of [deployer, executor, outsider]) {
      await expect(by(d.timelock, account).schedule(...op, ethers.ZeroHash, ethers.ZeroHash, DELAY_SECONDS))
        .to.be.revertedWithCustomError(d.timelock, "AccessControlUnauthorizedAccount")
        .withArgs(account.address, await d.timelock.PROPOSER_ROLE());
    }
  });
});
