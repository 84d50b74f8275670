/**
 * The pure functions the mappings compute with (src/logic), run by node on the same source files
 * that are compiled into the subgraph's wasm (graph-ts's BigInt stood in by support/graph-ts.ts).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { keccak256, toUtf8Bytes } from "ethers";

// src/logic imports `@graphprotocol/graph-ts` and extensionless siblings (AssemblyScript style):
// the hooks must be in place before those modules are resolved, hence the dynamic imports below.
// (`npm test` also passes --import ./test/support/register.ts; registering twice is harmless.)
register("./support/hooks.ts", import.meta.url);
const { BigInt, Bytes } = await import("./support/graph-ts.ts");
const { dayOf, dayStartOf } = await import("../src/logic/time.ts");
const { countryCodeFromBytes3, protocolIdFromBytes32 } = await import("../src/logic/ids.ts");
const { roleName } = await import("../src/logic/roles.ts");
const { creditIdOfCertificate, projectIdOfToken, tokenIdOf, vintageOfToken } = await import("../src/logic/tokenIds.ts");
const { signerIndices } = await import("../src/logic/signers.ts");
const { credit, debit, transferKind } = await import("../src/logic/balances.ts");
const { addAttestation, fillListing, revokeAttestation, supplyOf, zeroTotals, LISTING_FILLED, LISTING_OPEN } =
  await import("../src/logic/aggregates.ts");
const { pendingAfterCorrection, projectDebtCovered } = await import("../src/logic/corrections.ts");
const { issuanceMints } = await import("../src/logic/issuances.ts");
type Bytes = InstanceType<typeof Bytes>;

const big = (n: bigint | number) => new BigInt(globalThis.BigInt(n));

function bytes32OfText(text: string): Bytes {
  const out = new Bytes(32);
  out.set(Buffer.from(text, "ascii"));
  return out;
}

test("dayOf and dayStartOf bucket unix seconds into UTC days", () => {
  assert.equal(dayOf(0), 0);
  assert.equal(dayOf(86_399), 0);
  assert.equal(dayOf(86_400), 1);
  // 2025-11-23T12:34:56Z is day 20415 (Date.UTC agrees), starting at 1763856000.
  const t = Date.UTC(2025, 10, 23, 12, 34, 56) / 1000;
  assert.equal(dayOf(t), Math.floor(t / 86_400));
  assert.equal(dayOf(t), 20415);
  assert.equal(dayStartOf(t), Date.UTC(2025, 10, 23) / 1000);
});

test("protocolIdFromBytes32 decodes protocol ids and rejects anything else", () => {
  assert.equal(protocolIdFromBytes32(bytes32OfText("ktda-kangaita")), "ktda-kangaita");
  assert.equal(protocolIdFromBytes32(bytes32OfText("kangaita-chimney-1")), "kangaita-chimney-1");
  assert.equal(protocolIdFromBytes32(bytes32OfText("a".repeat(32))), "a".repeat(32));
  assert.equal(protocolIdFromBytes32(new Bytes(32)), "", "all zero: empty id");
  assert.equal(protocolIdFromBytes32(bytes32OfText("-leading-dash")), "", "first char must be [a-z0-9]");
  assert.equal(protocolIdFromBytes32(bytes32OfText("Upper")), "", "capitals are not protocol ids");
  const gap = bytes32OfText("ab");
  gap[5] = 0x63; // a byte after the zero padding
  assert.equal(protocolIdFromBytes32(gap), "", "text after padding");
  assert.equal(protocolIdFromBytes32(new Bytes(31)), "", "not 32 bytes");
});

test("countryCodeFromBytes3 reads ISO alpha-3 codes and treats zero as none", () => {
  assert.equal(countryCodeFromBytes3(Bytes.fromHexString("0x4b454e")), "KEN");
  assert.equal(countryCodeFromBytes3(Bytes.fromHexString("0x000000")), "");
  assert.equal(countryCodeFromBytes3(Bytes.fromHexString("0x6b656e")), "", "lower case is not a code");
});

test("roleName knows every role the contracts define, by keccak256 of its name", () => {
  for (const name of [
    "DEVICE_MANAGER_ROLE",
    "VERIFIER_ROLE",
    "PAUSER_ROLE",
    "AUDITOR_ROLE",
    "ARBITER_ROLE",
    "ESCROW_ROLE",
  ]) {
    assert.equal(roleName(keccak256(toUtf8Bytes(name))), name);
  }
  assert.equal(roleName(`0x${"00".repeat(32)}`), "DEFAULT_ADMIN_ROLE");
  assert.equal(roleName(keccak256(toUtf8Bytes("MINTER_ROLE"))), "");
});

test("token ids: projectId << 16 | vintage round-trips; certificate ids carry the credit id", () => {
  const tokenId = tokenIdOf(big(7), 2026);
  assert.equal(tokenId.toString(), String((7n << 16n) | 2026n));
  assert.equal(projectIdOfToken(tokenId).toString(), "7");
  assert.equal(vintageOfToken(tokenId), 2026);
  const maxProject = (1n << 40n) - 1n; // uint40
  const big40 = tokenIdOf(big(maxProject), 2099);
  assert.equal(projectIdOfToken(big40).toString(), maxProject.toString());
  const certificateId = big((tokenId.value << 64n) | 3n);
  assert.equal(creditIdOfCertificate(certificateId).toString(), tokenId.toString());
});

test("signerIndices lists the set bits of a uint128 bitmap, lowest first", () => {
  assert.deepEqual(signerIndices(big(0)), []);
  assert.deepEqual(signerIndices(big(0b1011)), [0, 1, 3]);
  assert.deepEqual(signerIndices(big((1n << 127n) | 1n)), [0, 127]);
});

test("credit and debit move balances and count holders entering and leaving", () => {
  const first = credit(big(0), big(5));
  assert.equal(first.balance.toString(), "5");
  assert.equal(first.holderDelta, 1);
  const more = credit(big(5), big(1));
  assert.equal(more.holderDelta, 0);
  const partial = debit(big(6), big(2));
  assert.equal(partial.balance.toString(), "4");
  assert.equal(partial.holderDelta, 0);
  const all = debit(big(4), big(4));
  assert.equal(all.balance.toString(), "0");
  assert.equal(all.holderDelta, -1);
  const zeroCredit = credit(big(0), big(0));
  assert.equal(zeroCredit.holderDelta, 0, "a zero-value transfer makes nobody a holder");
});

test("debit never leaves a negative balance (a missed event is clamped, not carried)", () => {
  const r = debit(big(1), big(3));
  assert.equal(r.balance.toString(), "0");
  assert.equal(r.holderDelta, -1);
});

test("transferKind: mint is issuance, burn is retirement, else transfer", () => {
  assert.equal(transferKind(true, false), "Issuance");
  assert.equal(transferKind(false, true), "Retirement");
  assert.equal(transferKind(false, false), "Transfer");
});

test("addAttestation and revokeAttestation keep totals of what still stands", () => {
  let t = zeroTotals();
  t = addAttestation(t, big(120), big(5_000_000), big(900_000));
  t = addAttestation(t, big(30), big(1_000), big(0));
  assert.equal(t.attestationCount, 2);
  assert.equal(t.readingCount.toString(), "150");
  assert.equal(t.fossilCo2eGrams.toString(), "5001000");
  t = revokeAttestation(t, big(30), big(1_000), big(0));
  assert.equal(t.attestationCount, 2, "a revoked attestation stays counted");
  assert.equal(t.revokedAttestationCount, 1);
  assert.equal(t.readingCount.toString(), "120");
  assert.equal(t.fossilCo2eGrams.toString(), "5000000");
  assert.equal(t.biogenicCo2Grams.toString(), "900000");
});

test("fillListing: partial fills stay open, the last fill closes the listing", () => {
  const a = fillListing(big(100), big(0), big(40));
  assert.equal(a.remainingKg.toString(), "60");
  assert.equal(a.soldKg.toString(), "40");
  assert.equal(a.status, LISTING_OPEN);
  const b = fillListing(a.remainingKg, a.soldKg, big(60));
  assert.equal(b.remainingKg.toString(), "0");
  assert.equal(b.soldKg.toString(), "100");
  assert.equal(b.status, LISTING_FILLED);
});

test("supplyOf is issued minus retired", () => {
  assert.equal(supplyOf(big(1000), big(250)).toString(), "750");
});

test("corrections of a period not yet issued: pending grams add up, and its issuance's covered grams pay the project's debt only past them", () => {
  // CarbonCredits.issue: emitted = header grams + pending corrections; covered = min(debt, baseline - emitted);
  // the event's correctionGramsCovered = covered + pending. Two corrections (300 g, 200 g) of a
  // 10,000 g period under a 20,000 g baseline, with a project debt of 1,200 g:
  let pending = pendingAfterCorrection(null, big(300));
  assert.equal(pending.toString(), "300");
  pending = pendingAfterCorrection(pending, big(200));
  assert.equal(pending.toString(), "500");
  const emitted = 10_000n + 500n;
  const debtCovered = 1_200n < 20_000n - emitted ? 1_200n : 20_000n - emitted;
  const eventCovered = big(debtCovered + 500n);
  assert.equal(projectDebtCovered(eventCovered, pending).toString(), "1200");
  // no pending corrections: the whole of it is the project's debt
  assert.equal(projectDebtCovered(big(1_200), null).toString(), "1200");
  // a missed correction event leaves more pending than was covered: zero, never negative
  assert.equal(projectDebtCovered(big(100), big(500)).toString(), "0");
});

test("issuanceMints: an issuance of 0 kg (its reduction all paid the project's debt) mints no credit", () => {
  assert.equal(issuanceMints(BigInt.zero()), false);
  assert.equal(issuanceMints(BigInt.fromI32(1)), true);
  assert.equal(issuanceMints(BigInt.fromString("1000000000000000000000")), true);
});
