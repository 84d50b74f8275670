import { expect } from "chai";
import { network } from "hardhat";
import { keccak256, stringToHex, type Hex } from "viem";
import { deployCarbonProof, oracleKeys } from "../carbonProofFixture.ts";
import { privateKeyToAccount } from "viem/accounts";

const connection = await network.create();
const { networkHelpers } = connection;

async function fixture() {
  return deployCarbonProof(connection);
}

/** Quorum signatures over a raw digest by the given private keys, sorted by address. */
async function signDigest(digest: Hex, keys: Hex[]): Promise<Hex> {
  const signed = await Promise.all(
    keys.map(async (k) => {
      const account = privateKeyToAccount(k);
      return { address: BigInt(account.address), sig: await account.sign({ hash: digest }) };
    }),
  );
  signed.sort((a, b) => (a.address < b.address ? -1 : 1));
  return `0x${signed.map((s) => s.sig.slice(2)).join("")}`;
}

describe("OracleSet", function () {
  describe("constructor", function () {
    it("gives the initial nodes indices 0… in order and sets the threshold", async function () {
      const { oracleSet, oracles, admin } = await networkHelpers.loadFixture(fixture);
      expect(await oracleSet.threshold()).to.equal(3);
      expect(await oracleSet.activeCount()).to.equal(5);
      expect(await oracleSet.nodeCount()).to.equal(5n);
      for (let i = 0; i < 5; i++) {
        expect(await oracleSet.nodeAt(i)).to.equal(oracles[i]!.wallet.address);
        expect(await oracleSet.indexOf(oracles[i]!.wallet.address)).to.equal(i);
        expect(await oracleSet.isActiveNode(oracles[i]!.wallet.address)).to.equal(true);
        const info = await oracleSet.nodeInfo(oracles[i]!.wallet.address);
        expect([info.known, info.active, info.index]).to.deep.equal([true, true, BigInt(i)]);
      }
      expect(await oracleSet.activeNodes()).to.deep.equal(oracles.map((o) => o.wallet.address));
      expect(await oracleSet.hasRole(await oracleSet.DEFAULT_ADMIN_ROLE(), admin.address)).to.equal(true);
    });

    it("reverts with OracleSetInvalidThreshold for k = 0 or k > n", async function () {
      const { ethers, admin, oracles, oracleSet } = await networkHelpers.loadFixture(fixture);
      const nodes = oracles.map((o) => o.wallet.address);
      await expect(ethers.deployContract("OracleSet", [admin.address, nodes, 0]))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidThreshold")
        .withArgs(0, 5);
      await expect(ethers.deployContract("OracleSet", [admin.address, nodes, 6]))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidThreshold")
        .withArgs(6, 5);
      await expect(ethers.deployContract("OracleSet", [admin.address, [], 1])).to.be.revertedWithCustomError(
        oracleSet,
        "OracleSetInvalidThreshold",
      );
    });

    it("reverts with OracleSetZeroAddress or OracleSetNodeAlreadyActive for bad initial nodes", async function () {
      const { ethers, admin, oracles, oracleSet } = await networkHelpers.loadFixture(fixture);
      const a = oracles[0]!.wallet.address;
      await expect(
        ethers.deployContract("OracleSet", [admin.address, [ethers.ZeroAddress], 1]),
      ).to.be.revertedWithCustomError(oracleSet, "OracleSetZeroAddress");
      await expect(ethers.deployContract("OracleSet", [admin.address, [a, a], 1]))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeAlreadyActive")
        .withArgs(a);
    });
  });

  describe("addNode, removeNode, setThreshold", function () {
    it("adds a node with the next index and lets it sign", async function () {
      const { oracleSet, admin } = await networkHelpers.loadFixture(fixture);
      const [key] = oracleKeys(1, "newcomer");
      const node = privateKeyToAccount(key!).address;
      await expect(oracleSet.connect(admin).addNode(node))
        .to.emit(oracleSet, "OracleNodeAdded")
        .withArgs(node, 5, false);
      expect(await oracleSet.indexOf(node)).to.equal(5);
      expect(await oracleSet.activeCount()).to.equal(6);
      await oracleSet.connect(admin).setThreshold(1);
      const digest = keccak256(stringToHex("digest"));
      expect(await oracleSet.verifyQuorum(digest, await signDigest(digest, [key!]))).to.equal(1n << 5n);
    });

    it("removes a node without giving its index to anyone, and reactivates it with the same index", async function () {
      const { oracleSet, admin, oracles } = await networkHelpers.loadFixture(fixture);
      const node = oracles[1]!.wallet.address;
      await expect(oracleSet.connect(admin).removeNode(node)).to.emit(oracleSet, "OracleNodeRemoved").withArgs(node, 1);
      expect(await oracleSet.isActiveNode(node)).to.equal(false);
      expect(await oracleSet.indexOf(node)).to.equal(1);
      expect(await oracleSet.activeNodes()).to.deep.equal([0, 2, 3, 4].map((i) => oracles[i]!.wallet.address));
      const [key] = oracleKeys(1, "newcomer");
      const newcomer = privateKeyToAccount(key!).address;
      await oracleSet.connect(admin).addNode(newcomer);
      expect(await oracleSet.indexOf(newcomer)).to.equal(5);
      await expect(oracleSet.connect(admin).addNode(node))
        .to.emit(oracleSet, "OracleNodeAdded")
        .withArgs(node, 1, true);
      expect(await oracleSet.isActiveNode(node)).to.equal(true);
      expect(await oracleSet.nodeCount()).to.equal(6n);
    });

    it("changes the threshold with an event", async function () {
      const { oracleSet, admin } = await networkHelpers.loadFixture(fixture);
      await expect(oracleSet.connect(admin).setThreshold(5)).to.emit(oracleSet, "ThresholdChanged").withArgs(3, 5);
      expect(await oracleSet.threshold()).to.equal(5);
    });

    it("reverts with OracleSetInvalidThreshold for k = 0, k > n, or a removal below k", async function () {
      const { oracleSet, admin, oracles } = await networkHelpers.loadFixture(fixture);
      await expect(oracleSet.connect(admin).setThreshold(0))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidThreshold")
        .withArgs(0, 5);
      await expect(oracleSet.connect(admin).setThreshold(6))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidThreshold")
        .withArgs(6, 5);
      await oracleSet.connect(admin).setThreshold(5);
      await expect(oracleSet.connect(admin).removeNode(oracles[0]!.wallet.address))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetInvalidThreshold")
        .withArgs(5, 4);
    });

    it("reverts with OracleSetNodeAlreadyActive, OracleSetNodeNotActive and OracleSetZeroAddress", async function () {
      const { oracleSet, admin, oracles, outsider, ethers } = await networkHelpers.loadFixture(fixture);
      const node = oracles[0]!.wallet.address;
      await expect(oracleSet.connect(admin).addNode(node))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeAlreadyActive")
        .withArgs(node);
      await expect(oracleSet.connect(admin).removeNode(outsider.address))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeNotActive")
        .withArgs(outsider.address);
      await expect(oracleSet.connect(admin).addNode(ethers.ZeroAddress)).to.be.revertedWithCustomError(
        oracleSet,
        "OracleSetZeroAddress",
      );
    });

    it("lets only the admin change the set", async function () {
      const { oracleSet, outsider, oracles } = await networkHelpers.loadFixture(fixture);
      const role = await oracleSet.DEFAULT_ADMIN_ROLE();
      const asOutsider = oracleSet.connect(outsider) as typeof oracleSet;
      for (const call of [
        () => asOutsider.addNode(outsider.address),
        () => asOutsider.removeNode(oracles[0]!.wallet.address),
        () => asOutsider.setThreshold(1),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(oracleSet, "AccessControlUnauthorizedAccount")
          .withArgs(outsider.address, role);
      }
    });

    it("reverts with OracleSetUnknownNode for the index of an address never added", async function () {
      const { oracleSet, outsider } = await networkHelpers.loadFixture(fixture);
      await expect(oracleSet.indexOf(outsider.address))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetUnknownNode")
        .withArgs(outsider.address);
      const info = await oracleSet.nodeInfo(outsider.address);
      expect([info.known, info.active, info.index]).to.deep.equal([false, false, 0n]);
    });

    it("reverts with OracleSetIndicesExhausted after 128 nodes", async function () {
      this.timeout(300_000);
      const { ethers, admin, oracleSet } = await networkHelpers.loadFixture(fixture);
      const nodes = Array.from({ length: 128 }, (_, i) =>
        ethers.getAddress(`0x${(i + 1).toString(16).padStart(40, "0")}`),
      );
      const big = await ethers.deployContract("OracleSet", [admin.address, nodes, 1]);
      expect(await big.nodeCount()).to.equal(128n);
      await expect(big.addNode(ethers.getAddress(`0x${"ff".repeat(20)}`)))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetIndicesExhausted")
        .withArgs(128);
      // the highest index works in a bitmap
      expect(await big.signersOf(1n << 127n)).to.deep.equal([nodes[127]]);
    });
  });

  describe("verifyQuorum", function () {
    it("returns the bitmap of the signers' indices", async function () {
      const { oracleSet } = await networkHelpers.loadFixture(fixture);
      const keys = oracleKeys(5);
      const digest = keccak256(stringToHex("batch"));
      expect(await oracleSet.verifyQuorum(digest, await signDigest(digest, [keys[1]!, keys[3]!, keys[4]!]))).to.equal(
        0b11010n,
      );
      expect(await oracleSet.verifyQuorum(digest, await signDigest(digest, keys))).to.equal(0b11111n);
      expect(await oracleSet.signersOf(0n)).to.deep.equal([]);
    });

    it("checks the submitter in verifyQuorumFrom", async function () {
      const { oracleSet, oracles, outsider, ethers } = await networkHelpers.loadFixture(fixture);
      const keys = oracleKeys(5);
      const digest = keccak256(stringToHex("batch"));
      const sigs = await signDigest(digest, keys.slice(0, 3));
      expect(await oracleSet.verifyQuorumFrom(oracles[4]!.wallet.address, digest, sigs)).to.equal(0b111n);
      await expect(oracleSet.verifyQuorumFrom(outsider.address, digest, sigs))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeNotActive")
        .withArgs(outsider.address);
      await expect(oracleSet.verifyQuorumFrom(ethers.ZeroAddress, digest, sigs))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetNodeNotActive")
        .withArgs(ethers.ZeroAddress);
    });

    it("reverts with OracleSetSignerNotActive for a signer above every active node", async function () {
      const { oracleSet } = await networkHelpers.loadFixture(fixture);
      const keys = oracleKeys(5);
      const digest = keccak256(stringToHex("batch"));
      // find an outsider key whose address sorts after all nodes
      let outsiderKey: Hex | undefined;
      for (let i = 0; !outsiderKey; i++) {
        const k = keccak256(stringToHex(`outsider-${i}`));
        if (BigInt(privateKeyToAccount(k).address) > BigInt(privateKeyToAccount(keys[4]!).address)) outsiderKey = k;
      }
      await expect(oracleSet.verifyQuorum(digest, await signDigest(digest, [keys[0]!, keys[1]!, outsiderKey])))
        .to.be.revertedWithCustomError(oracleSet, "OracleSetSignerNotActive")
        .withArgs(2, privateKeyToAccount(outsiderKey).address);
    });
  });
});
