import { expect } from "chai";
import { network } from "hardhat";
import CarbonProofModule, {
  LOCAL_ORACLE_NODES,
  DEVICE_MANAGER_ROLE,
  VERIFIER_ROLE,
  PAUSER_ROLE,
} from "../../ignition/modules/CarbonProof.ts";

const connection = await network.create();
const { ethers, ignition } = connection;

describe("Ignition module CarbonProof", function () {
  it("deploys the three contracts and wires the roles with the local defaults", async function () {
    const { deviceRegistry, oracleSet, attestationRegistry } = await ignition.deploy(CarbonProofModule);
    const signers = await ethers.getSigners();
    // the defaults are Hardhat's default accounts #1–#3
    expect(signers.slice(1, 4).map((s) => s.address)).to.deep.equal(LOCAL_ORACLE_NODES);
    const admin = await deviceRegistry.DEFAULT_ADMIN_ROLE();
    for (const c of [deviceRegistry, oracleSet, attestationRegistry]) {
      expect(await c.hasRole(admin, signers[0]!.address)).to.equal(true);
    }
    expect(await deviceRegistry.hasRole(DEVICE_MANAGER_ROLE, signers[12]!.address)).to.equal(true);
    expect(await attestationRegistry.hasRole(VERIFIER_ROLE, signers[4]!.address)).to.equal(true);
    expect(await attestationRegistry.hasRole(PAUSER_ROLE, signers[0]!.address)).to.equal(true);
    expect(await attestationRegistry.oracleSet()).to.equal(await oracleSet.getAddress());
    expect(await oracleSet.activeNodes()).to.deep.equal(LOCAL_ORACLE_NODES);
    expect(await oracleSet.threshold()).to.equal(2);
  });

  it("takes oracle nodes, threshold and role holders as parameters", async function () {
    const signers = await ethers.getSigners();
    const nodes = signers.slice(6, 10).map((s) => s.address);
    const { oracleSet, attestationRegistry, deviceRegistry } = await ignition.deploy(CarbonProofModule, {
      parameters: {
        CarbonProof: {
          oracleNodes: nodes,
          threshold: 3,
          verifier: signers[10]!.address,
          deviceManager: signers[11]!.address,
          pauser: signers[12]!.address,
        },
      },
    });
    expect(await oracleSet.activeNodes()).to.deep.equal(nodes);
    expect(await oracleSet.threshold()).to.equal(3);
    expect(await attestationRegistry.hasRole(VERIFIER_ROLE, signers[10]!.address)).to.equal(true);
    expect(await deviceRegistry.hasRole(DEVICE_MANAGER_ROLE, signers[11]!.address)).to.equal(true);
    expect(await attestationRegistry.hasRole(PAUSER_ROLE, signers[12]!.address)).to.equal(true);
  });
});
