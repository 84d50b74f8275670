/**
 * The credit page's loader (readCreditFacts) and its pages (issuancePage) on a real Hardhat chain:
 * one credit issued against 12 attestations (one an hour, each in its own block), the oldest
 * revoked. The loader's client is wrapped to count the per-issuance reads in flight (a block's
 * time, the calls about one attestation) — a credit of hourly attestations has 8,760 issuances a
 * year, and they once went out all at once.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { keccak256, toHex, type Hex, type PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buildBundle } from "../../../../sdk/src/bundle/bundle.ts";
import { defaultFactorSet } from "../../../../sdk/src/factors/factorSet.ts";
import { METHODOLOGY_ID } from "../../../../sdk/src/methodology/methodologyId.ts";
import { generateDeviceKey } from "../../../../sdk/src/reading/sign.ts";
import {
  attestBundle,
  flueGasEnvelopes,
  issueAtBound,
  registerTestDevice,
  registerTestProject,
} from "../../../../sdk/src/test/attest.ts";
import { TEST_ONLY_HARDHAT_KEYS, startTestChain, type TestChain } from "../../../../sdk/src/test/hardhatNode.ts";
import { creditChecks } from "../verification.ts";
import { attestationRegistryAbi, carbonCreditsAbi } from "./abis.ts";
import { issuancePage, readCreditFacts, type Addresses, type IssuanceCursor } from "./reads.ts";

const FACILITY = "ktda-kangaita";
const DEVICE = "kangaita-chimney-1";
const ISSUANCES = 12;
const PAGE = 5;
const LIMIT = 3;

let chain: TestChain;
let addresses: Addresses;
let tokenId: bigint;
/** Attestation ids in issuance order (oldest first). */
const ids: Hex[] = [];

before(async () => {
  chain = await startTestChain();
  const admin = TEST_ONLY_HARDHAT_KEYS[0]!;
  const deviceKey = generateDeviceKey();
  await registerTestDevice(chain, DEVICE, FACILITY, deviceKey.publicKey);
  const { credits } = await chain.deployCredits();
  addresses = { CarbonCredits: credits, AttestationRegistry: chain.registry, OracleSet: chain.oracleSet };
  await registerTestProject(chain, credits, FACILITY);
  for (let hour = 0; hour < ISSUANCES; hour++) {
    const start = 1763900000 + 3600 * hour;
    const envelopes = flueGasEnvelopes({
      deviceId: DEVICE,
      facilityId: FACILITY,
      secretKey: deviceKey.secretKey,
      start,
      count: 2,
      seq0: hour * 100,
      stepS: 60,
    });
    const bundle = buildBundle({
      facilityId: FACILITY,
      periodStart: start,
      periodEnd: start + 3600,
      envelopes,
      factorSet: defaultFactorSet(),
      methodologyId: METHODOLOGY_ID,
    });
    const { id, header } = await attestBundle(chain, bundle);
    ids.push(id);
    await issueAtBound(chain, credits, 1, header);
  }
  // the oldest attestation revoked: on the last page only, so only a check over all sees it
  const verifierRole = keccak256(toHex("VERIFIER_ROLE"));
  await chain.write(admin, chain.registry, attestationRegistryAbi, "grantRole", [
    verifierRole,
    privateKeyToAccount(admin).address,
  ]);
  await chain.write(admin, chain.registry, attestationRegistryAbi, "revoke", [ids[0]!, "test: meter fault"]);
  const issued = await chain.client.getContractEvents({
    address: credits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 0n,
  });
  tokenId = (issued[0]!.args as { tokenId: bigint }).tokenId;
});

after(async () => {
  await chain?.stop();
});

/**
 * `client` with its per-issuance reads counted: a getBlock is one read (its block), the calls
 * naming one attestation id are one read (that attestation) while any of them is in flight.
 */
function counting(client: PublicClient) {
  const inFlight = new Map<string, number>();
  const stats = { max: 0, blocks: new Map<bigint, number>() };
  const track = async <T>(key: string | undefined, run: () => Promise<T>): Promise<T> => {
    if (key === undefined) return run();
    inFlight.set(key, (inFlight.get(key) ?? 0) + 1);
    stats.max = Math.max(stats.max, inFlight.size);
    try {
      return await run();
    } finally {
      const n = inFlight.get(key)! - 1;
      if (n === 0) inFlight.delete(key);
      else inFlight.set(key, n);
    }
  };
  const attestation = (id: unknown) =>
    typeof id === "string" && ids.some((a) => a.toLowerCase() === id.toLowerCase()) ? `att:${id}` : undefined;
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "getBlock")
        return (args: { blockNumber: bigint }) => {
          stats.blocks.set(args.blockNumber, (stats.blocks.get(args.blockNumber) ?? 0) + 1);
          return track(`block:${args.blockNumber}`, () => target.getBlock(args));
        };
      if (prop === "readContract")
        return (args: { args?: readonly unknown[] }) =>
          track(attestation(args.args?.[0]), () => target.readContract(args as never));
      if (prop === "getContractEvents")
        return (args: { args?: { id?: unknown } }) =>
          track(attestation(args.args?.id), () => target.getContractEvents(args as never));
      return value;
    },
  });
  return { client: wrapped, stats };
}

test("readCreditFacts reads every issuance with at most `concurrency` per-issuance reads in flight, each block once", async () => {
  const { client, stats } = counting(chain.client);
  const facts = await readCreditFacts(client, addresses, tokenId, { concurrency: LIMIT });
  assert.equal(facts.issuances.length, ISSUANCES);
  assert.deepEqual(
    facts.issuances.map((i) => i.attestationId),
    ids,
  );
  assert.ok(stats.max <= LIMIT, `${stats.max} per-issuance reads were in flight at once (limit ${LIMIT})`);
  // 24 reads through 3 slots: the limit is reached, so the reads do run side by side
  assert.equal(stats.max, LIMIT);
  assert.equal(stats.blocks.size, ISSUANCES, "one block per issuance here");
  assert.ok(
    [...stats.blocks.values()].every((n) => n === 1),
    "each block's time read once",
  );
  assert.ok(facts.issuances.every((i) => i.issuedAt > 0n && i.attestation.exists));
});

test("the checks are over all issuances: a revoked attestation on the last page fails them", async () => {
  const facts = await readCreditFacts(chain.client, addresses, tokenId, { concurrency: LIMIT });
  const checks = new Map(creditChecks(facts).map((c) => [c.id, c]));
  assert.match(checks.get("issued")!.detail, new RegExp(`^${ISSUANCES} issuances`));
  assert.equal(checks.get("supply")!.ok, true, checks.get("supply")!.detail);
  assert.equal(checks.get("quorum")!.ok, true, checks.get("quorum")!.detail);
  assert.equal(checks.get("not-revoked")!.ok, false);
  assert.match(checks.get("not-revoked")!.detail, new RegExp(ids[0]!.slice(0, 10)));
  // ... while the first page does not show it
  assert.ok(!issuancePage(facts.issuances, {}, PAGE).rows.some((i) => i.attestationId === ids[0]));
});

test("issuancePage shows the newest first and its links reach every issuance exactly once, both ways", async () => {
  const facts = await readCreditFacts(chain.client, addresses, tokenId);
  const newestFirst = [...ids].reverse();
  const first = issuancePage(facts.issuances, {}, PAGE);
  assert.deepEqual(
    first.rows.map((i) => i.attestationId),
    newestFirst.slice(0, PAGE),
  );
  assert.equal(first.previous, null);
  assert.equal(first.total, ISSUANCES);

  const pages: Hex[][] = [];
  let cursor: IssuanceCursor = {};
  for (let guard = 0; guard < 10; guard++) {
    const page = issuancePage(facts.issuances, cursor, PAGE);
    assert.equal(page.first, pages.flat().length + 1);
    pages.push(page.rows.map((i) => i.attestationId));
    if (page.next === null) break;
    cursor = { after: page.next };
  }
  assert.deepEqual(pages.flat(), newestFirst, "older pages: every issuance once, newest first");
  assert.deepEqual(
    pages.map((p) => p.length),
    [5, 5, 2],
  );

  // back from the oldest page by ?before= to the newest
  const back: Hex[][] = [];
  let last = issuancePage(facts.issuances, cursor, PAGE);
  back.push(last.rows.map((i) => i.attestationId));
  while (last.previous !== null) {
    last = issuancePage(facts.issuances, { before: last.previous }, PAGE);
    back.unshift(last.rows.map((i) => i.attestationId));
  }
  assert.deepEqual(back.flat(), newestFirst, "newer pages: every issuance once");

  const refused = issuancePage(facts.issuances, { after: "not-a-position" }, PAGE);
  assert.ok(refused.refused);
  assert.deepEqual(refused.rows, first.rows);
});
