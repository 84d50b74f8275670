import { test } from "node:test";
import assert from "node:assert/strict";
import { argHref, eventArgs } from "./txEvents.ts";

const H32 = `0x${"ab".repeat(32)}`;
const ADDR = `0x${"12".repeat(20)}`;

test("a retirement's arguments link to its certificate, credit and accounts", () => {
  const args = eventArgs({
    contract: "RetirementCertificates",
    eventName: "Retired",
    logIndex: 3,
    args: { certificateId: 42n, creditId: 65538n, beneficiary: ADDR, amount: 250n, beneficiaryName: "Acme, Inc." },
  });
  assert.deepEqual(args, [
    { name: "certificateId", text: "42", href: "/certificate/42" },
    { name: "creditId", text: "65538", href: "/credit/65538" },
    { name: "beneficiary", text: ADDR, href: `/explorer/accounts/${ADDR}` },
    { name: "amount", text: "250", href: undefined },
    { name: "beneficiaryName", text: "Acme, Inc.", href: undefined },
  ]);
});

test("bytes32 ids lead to attestations, facilities or devices by contract and name", () => {
  assert.equal(argHref("AttestationRegistry", "AttestationSubmitted", "id", H32), `/explorer/attestations/${H32}`);
  assert.equal(
    argHref("AttestationRegistry", "AttestationSubmitted", "facilityId", H32),
    `/explorer/facilities/${H32}`,
  );
  assert.equal(argHref("DeviceRegistry", "DeviceRegistered", "id", H32), `/explorer/devices/${H32}`);
  assert.equal(argHref("CarbonCredits", "CreditsIssued", "attestationId", H32), `/explorer/attestations/${H32}`);
  assert.equal(argHref("DeviceRegistry", "DeviceKeyRotated", "x", H32), undefined);
});

test("credits, listings and certificates by their decimal ids; none for the zero address or certificate 0", () => {
  assert.equal(argHref("CarbonCredits", "TransferSingle", "id", 65538n), "/credit/65538");
  assert.equal(argHref("Marketplace", "Bought", "tokenId", 65538n), "/credit/65538");
  assert.equal(argHref("Marketplace", "Bought", "listingId", 3n), "/listing/3");
  assert.equal(argHref("Marketplace", "Bought", "certificateId", 0n), undefined);
  assert.equal(argHref("RetirementCertificates", "Locked", "tokenId", 9n), "/certificate/9");
  assert.equal(argHref("CarbonCredits", "TransferSingle", "from", `0x${"0".repeat(40)}`), undefined);
  assert.equal(argHref("CarbonCredits", "BaselineSet", "projectId", 1n), undefined);
});

test("tuples and arrays read as JSON with decimal bigints", () => {
  const [arg] = eventArgs({
    contract: "CarbonCredits",
    eventName: "TransferBatch",
    logIndex: 0,
    args: { ids: [1n, 2n] },
  });
  assert.deepEqual(arg, { name: "ids", text: '["1","2"]', href: undefined });
});
