import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAuditTarget, targetOfFile, targetOfPastedId } from "./target.ts";

const ID = `0x${"ab".repeat(32)}`;

test("parseAuditTarget turns each route's id into the sdk's lineage target, or says why not", () => {
  assert.deepEqual(parseAuditTarget("credit", "65537"), { tokenId: 65537n });
  assert.deepEqual(parseAuditTarget("certificate", "1208925819614629174706176"), {
    certificateId: 1208925819614629174706176n,
  });
  assert.deepEqual(parseAuditTarget("attestation", ID.toUpperCase().replace("0X", "0x")), { attestationId: ID });
  assert.deepEqual(parseAuditTarget("reading", ID), { readingDigest: ID });
  assert.match(parseAuditTarget("credit", "0x12") as string, /not a credit id/);
  assert.match(parseAuditTarget("reading", "123") as string, /not a reading digest/);
});

test("a pasted id: small decimals are credits, ≥ 2^64 certificates, bytes32 attestation or reading by the chain", async () => {
  const never = async () => false;
  assert.deepEqual(await targetOfPastedId(" 65537 ", never), {
    kind: "credit",
    id: "65537",
    target: { tokenId: 65537n },
  });
  const cert = (1n << 64n) * 65537n + 1n;
  assert.equal(((await targetOfPastedId(cert.toString(), never)) as { kind: string }).kind, "certificate");
  assert.deepEqual(await targetOfPastedId(ID, async () => true), {
    kind: "attestation",
    id: ID,
    target: { attestationId: ID },
  });
  assert.deepEqual(await targetOfPastedId(ID, never), { kind: "reading", id: ID, target: { readingDigest: ID } });
  assert.match((await targetOfPastedId("hello", never)) as string, /is not an id/);
});

test("a file is an envelope or a bundle (kept as its exact bytes), anything else is refused", () => {
  const env = { reading: { v: 1 }, sig: "0x00" };
  assert.deepEqual(targetOfFile(new TextEncoder().encode(JSON.stringify(env)), "e.json"), { envelope: env });
  const bytes = new TextEncoder().encode('{"facilityId":"f","readings":[]}');
  const t = targetOfFile(bytes, "b.json") as { bundleBytes: Uint8Array; name: string };
  assert.equal(t.bundleBytes, bytes);
  assert.equal(t.name, "b.json");
  assert.match(targetOfFile(new TextEncoder().encode("[1]"), "x.json") as string, /neither a signed reading envelope/);
  assert.match(targetOfFile(new Uint8Array([0xff]), "x.bin") as string, /not UTF-8 JSON/);
});
