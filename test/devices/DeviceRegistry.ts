import { expect } from "chai";
import { network } from "hardhat";
import { generateKeyPairSync, sign as nodeSign } from "node:crypto";
import { keccak256, stringToHex, toHex, type Hex } from "viem";
import { deployCarbonProof } from "../carbonProofFixture.ts";
import { idToBytes32 } from "../../sdk/src/ids.ts";
import { generateDeviceKey, publicKeyToXY, signDigest, normalizeLowS, P256_N } from "../../sdk/src/reading/sign.ts";
import { readingDigest, sha256Bytes } from "../../sdk/src/reading/digest.ts";
import { canonicalBytes } from "../../sdk/src/reading/canonical.ts";
import { protocolExampleReading } from "../../sdk/src/test/fixtures.ts";

const connection = await network.create();
const { networkHelpers } = connection;

const Kind = { FlueGas: 0n, ElectricityMeter: 1n, FuelMeter: 2n, ManualEntry: 3n } as const;
const Status = { None: 0n, Active: 1n, Suspended: 2n, Retired: 3n } as const;

const DEVICE = idToBytes32("kangaita-chimney-1");
const FACILITY = idToBytes32("ktda-kangaita");

async function fixture() {
  const f = await deployCarbonProof(connection);
  const key = generateDeviceKey();
  const { x, y } = publicKeyToXY(key.publicKey);
  const asManager = f.deviceRegistry.connect(f.deviceManager) as typeof f.deviceRegistry;
  return { ...f, key, x, y, asManager };
}

async function registered() {
  const f = await networkHelpers.loadFixture(fixture);
  await f.asManager.registerDevice(DEVICE, FACILITY, Kind.FlueGas, f.x, f.y, "ipfs://device-meta");
  return f;
}

function split(sig: Hex): [Hex, Hex] {
  return [`0x${sig.slice(2, 66)}`, `0x${sig.slice(66, 130)}`];
}

describe("DeviceRegistry", function () {
  describe("registerDevice", function () {
    it("registers a device with its key, kind, facility and metadata", async function () {
      const { deviceRegistry, asManager, x, y, now } = await networkHelpers.loadFixture(fixture);
      await expect(asManager.registerDevice(DEVICE, FACILITY, Kind.ElectricityMeter, x, y, "ipfs://meta"))
        .to.emit(deviceRegistry, "DeviceRegistered")
        .withArgs(DEVICE, FACILITY, Kind.ElectricityMeter, x, y, "ipfs://meta");
      const device = await deviceRegistry.getDevice(DEVICE);
      expect(device.facilityId).to.equal(FACILITY);
      expect(device.kind).to.equal(Kind.ElectricityMeter);
      expect(device.status).to.equal(Status.Active);
      expect(device.registeredAt).to.equal(await now());
      expect(device.statusChangedAt).to.equal(await now());
      expect(device.metadataURI).to.equal("ipfs://meta");
      expect(device.keyHistory.length).to.equal(1);
      expect(device.keyHistory[0].x).to.equal(x);
      expect(device.keyHistory[0].y).to.equal(y);
      expect(device.keyHistory[0].validFrom).to.equal(0n);
      expect(await deviceRegistry.isActive(DEVICE)).to.equal(true);
      expect(await deviceRegistry.facilityOf(DEVICE)).to.equal(FACILITY);
      expect((await deviceRegistry.currentKey(DEVICE)).x).to.equal(x);
    });

    it("registers a device with an empty metadata URI", async function () {
      const { deviceRegistry, asManager, x, y } = await networkHelpers.loadFixture(fixture);
      await asManager.registerDevice(DEVICE, FACILITY, Kind.ManualEntry, x, y, "");
      expect((await deviceRegistry.getDevice(DEVICE)).metadataURI).to.equal("");
    });

    it("reverts with AccessControlUnauthorizedAccount for anyone but a device manager", async function () {
      const { deviceRegistry, x, y, admin } = await networkHelpers.loadFixture(fixture);
      await expect(deviceRegistry.connect(admin).registerDevice(DEVICE, FACILITY, Kind.FlueGas, x, y, ""))
        .to.be.revertedWithCustomError(deviceRegistry, "AccessControlUnauthorizedAccount")
        .withArgs(admin.address, await deviceRegistry.DEVICE_MANAGER_ROLE());
    });

    it("reverts with DeviceRegistryInvalidId for ids that are not protocol ids", async function () {
      const { deviceRegistry, asManager, x, y } = await networkHelpers.loadFixture(fixture);
      const bad: Hex[] = [
        `0x${"00".repeat(32)}`, // empty
        stringToHex("Kangaita", { size: 32 }), // upper case
        stringToHex("-chimney", { size: 32 }), // leading dash
        stringToHex("chimney 1", { size: 32 }), // space
        `0x61${"00".repeat(30)}62`, // non-zero byte after the padding
      ];
      for (const id of bad) {
        await expect(asManager.registerDevice(id, FACILITY, Kind.FlueGas, x, y, ""))
          .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidId")
          .withArgs(id);
      }
      // the longest id (32 chars) and every allowed character are fine
      await asManager.registerDevice(
        stringToHex("a".repeat(29) + "._-", { size: 32 }),
        FACILITY,
        Kind.FlueGas,
        x,
        y,
        "",
      );
      await asManager.registerDevice(stringToHex("0", { size: 32 }), FACILITY, Kind.FlueGas, x, y, "");
    });

    it("reverts with DeviceRegistryInvalidFacilityId for a bad facility id", async function () {
      const { deviceRegistry, asManager, x, y } = await networkHelpers.loadFixture(fixture);
      const bad = stringToHex("KTDA", { size: 32 });
      await expect(asManager.registerDevice(DEVICE, bad, Kind.FlueGas, x, y, ""))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidFacilityId")
        .withArgs(bad);
    });

    it("reverts with DeviceRegistryInvalidKey for a point off the curve or out of range", async function () {
      const { deviceRegistry, asManager, x, y } = await networkHelpers.loadFixture(fixture);
      const offCurve = toHex(BigInt(y) ^ 1n, { size: 32 });
      await expect(asManager.registerDevice(DEVICE, FACILITY, Kind.FlueGas, x, offCurve, ""))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidKey")
        .withArgs(x, offCurve);
      const zero = toHex(0n, { size: 32 });
      await expect(
        asManager.registerDevice(DEVICE, FACILITY, Kind.FlueGas, zero, zero, ""),
      ).to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidKey");
    });

    it("reverts with DeviceRegistryAlreadyRegistered for an existing id", async function () {
      const { deviceRegistry, asManager, x, y } = await registered();
      await expect(asManager.registerDevice(DEVICE, FACILITY, Kind.FlueGas, x, y, ""))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryAlreadyRegistered")
        .withArgs(DEVICE);
    });
  });

  describe("status: suspend, reactivate, retire", function () {
    it("suspends and reactivates a device", async function () {
      const { deviceRegistry, asManager, now } = await registered();
      await expect(asManager.suspendDevice(DEVICE, "calibration overdue"))
        .to.emit(deviceRegistry, "DeviceSuspended")
        .withArgs(DEVICE, "calibration overdue");
      expect(await deviceRegistry.isActive(DEVICE)).to.equal(false);
      const device = await deviceRegistry.getDevice(DEVICE);
      expect(device.status).to.equal(Status.Suspended);
      expect(device.statusChangedAt).to.equal(await now());
      await expect(asManager.reactivateDevice(DEVICE)).to.emit(deviceRegistry, "DeviceReactivated").withArgs(DEVICE);
      expect(await deviceRegistry.isActive(DEVICE)).to.equal(true);
    });

    it("retires a device for good, from active or suspended", async function () {
      const { deviceRegistry, asManager, x, y } = await registered();
      await expect(asManager.retireDevice(DEVICE, "replaced"))
        .to.emit(deviceRegistry, "DeviceRetired")
        .withArgs(DEVICE, "replaced");
      expect((await deviceRegistry.getDevice(DEVICE)).status).to.equal(Status.Retired);
      expect(await deviceRegistry.isActive(DEVICE)).to.equal(false);
      const other = idToBytes32("kangaita-meter-2");
      await asManager.registerDevice(other, FACILITY, Kind.ElectricityMeter, x, y, "");
      await asManager.suspendDevice(other, "fault");
      await expect(asManager.retireDevice(other, "broken")).to.emit(deviceRegistry, "DeviceRetired");
    });

    it("reverts with DeviceRegistryInvalidStatus for transitions that are not allowed", async function () {
      const { deviceRegistry, asManager } = await registered();
      await expect(asManager.reactivateDevice(DEVICE))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidStatus")
        .withArgs(DEVICE, Status.Active);
      await asManager.suspendDevice(DEVICE, "x");
      await expect(asManager.suspendDevice(DEVICE, "x"))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidStatus")
        .withArgs(DEVICE, Status.Suspended);
      await asManager.retireDevice(DEVICE, "x");
      for (const call of [
        () => asManager.retireDevice(DEVICE, "x"),
        () => asManager.reactivateDevice(DEVICE),
        () => asManager.suspendDevice(DEVICE, "x"),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidStatus")
          .withArgs(DEVICE, Status.Retired);
      }
    });

    it("reverts with DeviceRegistryUnknownDevice for an unknown id, in writes and views", async function () {
      const { deviceRegistry, asManager, x, y } = await networkHelpers.loadFixture(fixture);
      const unknown = idToBytes32("nobody");
      const zero = toHex(0n, { size: 32 });
      for (const call of [
        () => asManager.suspendDevice(unknown, ""),
        () => asManager.reactivateDevice(unknown),
        () => asManager.retireDevice(unknown, ""),
        () => asManager.rotateKey(unknown, x, y),
        () => asManager.setMetadataURI(unknown, ""),
        () => deviceRegistry.getDevice(unknown),
        () => deviceRegistry.facilityOf(unknown),
        () => deviceRegistry.currentKey(unknown),
        () => deviceRegistry.keyAt(unknown, 0),
        () => deviceRegistry.verifyDeviceSignature(unknown, zero, zero, zero),
        () => deviceRegistry.verifyDeviceSignatureAt(unknown, zero, zero, zero, 0),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryUnknownDevice")
          .withArgs(unknown);
      }
      expect(await deviceRegistry.isActive(unknown)).to.equal(false);
    });

    it("lets only a device manager change a device", async function () {
      const { deviceRegistry, outsider, x, y } = await registered();
      const role = await deviceRegistry.DEVICE_MANAGER_ROLE();
      const asOutsider = deviceRegistry.connect(outsider) as typeof deviceRegistry;
      for (const call of [
        () => asOutsider.suspendDevice(DEVICE, ""),
        () => asOutsider.reactivateDevice(DEVICE),
        () => asOutsider.retireDevice(DEVICE, ""),
        () => asOutsider.rotateKey(DEVICE, x, y),
        () => asOutsider.setMetadataURI(DEVICE, ""),
      ]) {
        await expect(call())
          .to.be.revertedWithCustomError(deviceRegistry, "AccessControlUnauthorizedAccount")
          .withArgs(outsider.address, role);
      }
    });

    it("updates the metadata URI", async function () {
      const { deviceRegistry, asManager } = await registered();
      await expect(asManager.setMetadataURI(DEVICE, "ipfs://v2"))
        .to.emit(deviceRegistry, "DeviceMetadataUpdated")
        .withArgs(DEVICE, "ipfs://v2");
      expect((await deviceRegistry.getDevice(DEVICE)).metadataURI).to.equal("ipfs://v2");
    });
  });

  describe("signatures (cross-check with the sdk's and node:crypto's P-256)", function () {
    it("verifies a reading signed by the sdk, and rejects another digest, a high s and another key", async function () {
      const { deviceRegistry, key } = await registered();
      const digest = readingDigest(protocolExampleReading);
      const [r, s] = split(signDigest(digest, key.secretKey));
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, toHex(digest), r, s)).to.equal(true);
      expect(
        await deviceRegistry.verifyDeviceSignatureAt(DEVICE, toHex(digest), r, s, protocolExampleReading.ts),
      ).to.equal(true);
      const other = readingDigest({ ...protocolExampleReading, seq: 43 });
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, toHex(other), r, s)).to.equal(false);
      const highS = toHex(P256_N - BigInt(s), { size: 32 });
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, toHex(digest), r, highS)).to.equal(false);
      const stranger = generateDeviceKey();
      const [r2, s2] = split(signDigest(digest, stranger.secretKey));
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, toHex(digest), r2, s2)).to.equal(false);
    });

    it("verifies a signature made by node:crypto over the canonical bytes (normalised to low s)", async function () {
      const { deviceRegistry, asManager } = await networkHelpers.loadFixture(fixture);
      const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
      const jwk = publicKey.export({ format: "jwk" });
      const x = toHex(Buffer.from(jwk.x!, "base64url"));
      const y = toHex(Buffer.from(jwk.y!, "base64url"));
      await asManager.registerDevice(DEVICE, FACILITY, Kind.FlueGas, x, y, "");
      const bytes = canonicalBytes(protocolExampleReading);
      const sig = normalizeLowS(nodeSign("sha256", bytes, { key: privateKey, dsaEncoding: "ieee-p1363" }));
      const [r, s] = split(sig);
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, toHex(sha256Bytes(bytes)), r, s)).to.equal(true);
    });
  });

  describe("rotateKey and the key history", function () {
    it("keeps the old key valid for readings before the rotation and the new one after", async function () {
      const { deviceRegistry, asManager, key, x, y, now } = await registered();
      const newKey = generateDeviceKey();
      const next = publicKeyToXY(newKey.publicKey);
      const rotationTime = (await now()) + 1000n;
      await networkHelpers.time.setNextBlockTimestamp(rotationTime);
      await expect(asManager.rotateKey(DEVICE, next.x, next.y))
        .to.emit(deviceRegistry, "DeviceKeyRotated")
        .withArgs(DEVICE, 1n, next.x, next.y, rotationTime);

      expect((await deviceRegistry.keyAt(DEVICE, rotationTime - 1n)).x).to.equal(x);
      expect((await deviceRegistry.keyAt(DEVICE, 0)).y).to.equal(y);
      expect((await deviceRegistry.keyAt(DEVICE, rotationTime)).x).to.equal(next.x);
      expect((await deviceRegistry.currentKey(DEVICE)).x).to.equal(next.x);
      const device = await deviceRegistry.getDevice(DEVICE);
      expect(device.keyHistory.length).to.equal(2);
      expect(device.keyHistory[1].validFrom).to.equal(rotationTime);

      const digest = toHex(sha256Bytes(new TextEncoder().encode("a reading")));
      const [oldR, oldS] = split(signDigest(digest, key.secretKey));
      const [newR, newS] = split(signDigest(digest, newKey.secretKey));
      // old key: valid for a reading before the rotation, not after, not as the current key
      expect(await deviceRegistry.verifyDeviceSignatureAt(DEVICE, digest, oldR, oldS, rotationTime - 1n)).to.equal(
        true,
      );
      expect(await deviceRegistry.verifyDeviceSignatureAt(DEVICE, digest, oldR, oldS, rotationTime)).to.equal(false);
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, digest, oldR, oldS)).to.equal(false);
      // new key: the reverse
      expect(await deviceRegistry.verifyDeviceSignatureAt(DEVICE, digest, newR, newS, rotationTime)).to.equal(true);
      expect(await deviceRegistry.verifyDeviceSignatureAt(DEVICE, digest, newR, newS, rotationTime - 1n)).to.equal(
        false,
      );
      expect(await deviceRegistry.verifyDeviceSignature(DEVICE, digest, newR, newS)).to.equal(true);

      // a third key: the middle one covers exactly [rotation 1, rotation 2)
      const third = publicKeyToXY(generateDeviceKey().publicKey);
      await networkHelpers.time.setNextBlockTimestamp(rotationTime + 500n);
      await asManager.rotateKey(DEVICE, third.x, third.y);
      expect((await deviceRegistry.keyAt(DEVICE, rotationTime + 499n)).x).to.equal(next.x);
      expect((await deviceRegistry.keyAt(DEVICE, rotationTime + 500n)).x).to.equal(third.x);
      expect((await deviceRegistry.keyAt(DEVICE, 1n)).x).to.equal(x);
    });

    it("rotates the key of a suspended device but not of a retired one", async function () {
      const { deviceRegistry, asManager } = await registered();
      const next = publicKeyToXY(generateDeviceKey().publicKey);
      await asManager.suspendDevice(DEVICE, "key compromise suspected");
      await expect(asManager.rotateKey(DEVICE, next.x, next.y)).to.emit(deviceRegistry, "DeviceKeyRotated");
      await asManager.retireDevice(DEVICE, "gone");
      await expect(asManager.rotateKey(DEVICE, next.x, next.y))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidStatus")
        .withArgs(DEVICE, Status.Retired);
    });

    it("reverts with DeviceRegistryInvalidKey for an invalid new key", async function () {
      const { deviceRegistry, asManager, x } = await registered();
      const bad = keccak256("0x01");
      await expect(asManager.rotateKey(DEVICE, x, bad))
        .to.be.revertedWithCustomError(deviceRegistry, "DeviceRegistryInvalidKey")
        .withArgs(x, bad);
    });
  });
});
