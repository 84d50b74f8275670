/**
 * The credit page's loader (readCreditFacts) and its pages (issuancePage) on a real Hardhat chain:
 * one credit issued against 12 attestations (one an hour, each in its own block), the oldest
 * revoked. The loader's client is wrapped to count the per-issuance reads in flight (a block's
 * time, the calls about one attestation) — a credit of hourly attestations has 8,760 issuances a
 * year, and they once went out all at once. Its events are also read through a transport that
 * logs every eth_getLogs, in ranges of 3 blocks from the deployment's block. The market's loader
 * (readMarket) reads three listed credits: this one, the project's next vintage and a second
 * facility's project, each of 2 issuances.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  createPublicClient,
  createWalletClient,
  custom,
  http,
  keccak256,
  toHex,
  zeroAddress,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { readFileSync } from "node:fs";
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
import { attestationRegistryAbi, carbonCreditsAbi, marketplaceAbi } from "./abis.ts";
import { EventRangeError, eventReads } from "./events.ts";
import { issuancePage, idString, readCreditFacts, readMarket, type Addresses, type IssuanceCursor } from "./reads.ts";

const FACILITY = "ktda-kangaita";
const DEVICE = "kangaita-chimney-1";
const ISSUANCES = 12;
const PAGE = 5;
const LIMIT = 3;
const FACILITY_2 = "ktda-gitugi";
const DEVICE_2 = "gitugi-chimney-1";
/** Issuances of each of the market's other two credits. */
const MORE = 2;

let chain: TestChain;
let addresses: Addresses;
let tokenId: bigint;
/** The block CarbonCredits' deployment starts in: the start of the event reads under test. */
let deploymentBlock: bigint;
/** The block of the last issuance. */
let lastIssuanceBlock: bigint;
/** Attestation ids in issuance order (oldest first). */
const ids: Hex[] = [];
/** The other listed credits' attestation ids. */
const moreIds: Hex[] = [];
/** CarbonCredits, RetirementCertificates and the Marketplace listing the three credits. */
let marketAddresses: Addresses;
/** The listed credits' token ids. */
let listedTokenIds: bigint[];

/** Attests and issues `hours` hourly bundles of `device` from `start0`; their attestation ids. */
async function issueHours(
  o: { credits: Address; device: string; facility: string; secretKey: Uint8Array; projectId: number },
  start0: number,
  hours: number,
  seqBase: number,
): Promise<Hex[]> {
  const made: Hex[] = [];
  for (let hour = 0; hour < hours; hour++) {
    const start = start0 + 3600 * hour;
    const envelopes = flueGasEnvelopes({
      deviceId: o.device,
      facilityId: o.facility,
      secretKey: o.secretKey,
      start,
      count: 2,
      seq0: seqBase + hour * 100,
      stepS: 60,
    });
    const bundle = buildBundle({
      facilityId: o.facility,
      periodStart: start,
      periodEnd: start + 3600,
      envelopes,
      factorSet: defaultFactorSet(),
      methodologyId: METHODOLOGY_ID,
    });
    const { id, header } = await attestBundle(chain, bundle);
    made.push(id);
    await issueAtBound(chain, o.credits, o.projectId, header);
  }
  return made;
}

before(async () => {
  chain = await startTestChain();
  const admin = TEST_ONLY_HARDHAT_KEYS[0]!;
  const deviceKey = generateDeviceKey();
  await registerTestDevice(chain, DEVICE, FACILITY, deviceKey.publicKey);
  deploymentBlock = (await chain.client.getBlockNumber()) + 1n;
  const { credits, certificates } = await chain.deployCredits();
  addresses = { CarbonCredits: credits, AttestationRegistry: chain.registry, OracleSet: chain.oracleSet };
  await registerTestProject(chain, credits, FACILITY);
  const kangaita = { credits, device: DEVICE, facility: FACILITY, secretKey: deviceKey.secretKey, projectId: 1 };
  ids.push(...(await issueHours(kangaita, 1763900000, ISSUANCES, 0)));
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
  lastIssuanceBlock = issued[issued.length - 1]!.blockNumber;

  // the market: the project's 2026 vintage and a second facility's project (2), each listed with this one
  const deviceKey2 = generateDeviceKey();
  await registerTestDevice(chain, DEVICE_2, FACILITY_2, deviceKey2.publicKey);
  await registerTestProject(chain, credits, FACILITY_2);
  const jan2026 = 1767225600;
  moreIds.push(...(await issueHours(kangaita, jan2026, MORE, ISSUANCES * 100)));
  const gitugi = { credits, device: DEVICE_2, facility: FACILITY_2, secretKey: deviceKey2.secretKey, projectId: 2 };
  moreIds.push(...(await issueHours(gitugi, jan2026, MORE, 0)));
  const art = JSON.parse(
    readFileSync(
      new URL("../../../../artifacts/contracts/market/Marketplace.sol/Marketplace.json", import.meta.url),
      "utf8",
    ),
  ) as { abi: Abi; bytecode: Hex };
  const adminAddress = privateKeyToAccount(admin).address;
  const deployer = createWalletClient({ account: privateKeyToAccount(admin), transport: http(chain.rpcUrl) });
  const deployed = await chain.client.waitForTransactionReceipt({
    hash: await deployer.deployContract({
      abi: art.abi,
      bytecode: art.bytecode,
      args: [credits, certificates, adminAddress, adminAddress, 100],
      chain: null,
    }),
  });
  const market = deployed.contractAddress!;
  await chain.write(admin, market, marketplaceAbi, "setPaymentToken", [zeroAddress, true]);
  const proponent = TEST_ONLY_HARDHAT_KEYS[3]!;
  await chain.write(proponent, credits, carbonCreditsAbi, "setApprovalForAll", [market, true]);
  listedTokenIds = [tokenId, (1n << 16n) | 2026n, (2n << 16n) | 2026n];
  const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86400;
  for (const id of listedTokenIds)
    await chain.write(proponent, market, marketplaceAbi, "list", [id, 1n, zeroAddress, 10n ** 12n, 1n, expiresAt]);
  marketAddresses = { ...addresses, Marketplace: market, RetirementCertificates: certificates };
});

after(async () => {
  await chain?.stop();
});

/**
 * `client` with its per-issuance reads counted: a getBlock is one read (its block), the calls
 * naming one attestation id are one read (that attestation) while any of them is in flight.
 */
function counting(client: PublicClient, o: { eventQueries?: boolean; everyCall?: boolean } = {}) {
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
    typeof id === "string" && [...ids, ...moreIds].some((a) => a.toLowerCase() === id.toLowerCase())
      ? `att:${id}`
      : undefined;
  let queries = 0;
  let calls = 0;
  /** with `everyCall`, a call that names no attestation is a read of its own */
  const call = (id: unknown) => attestation(id) ?? (o.everyCall ? `call:${calls++}` : undefined);
  const wrapped = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "getBlock")
        return (args?: { blockNumber?: bigint }) => {
          if (args?.blockNumber === undefined) return target.getBlock(args); // the head: not per issuance
          stats.blocks.set(args.blockNumber, (stats.blocks.get(args.blockNumber) ?? 0) + 1);
          return track(`block:${args.blockNumber}`, () => target.getBlock(args));
        };
      if (prop === "readContract")
        return (args: { args?: readonly unknown[] }) =>
          track(call(args.args?.[0]), () => target.readContract(args as never));
      if (prop === "getChainId" && o.everyCall) return () => track(`call:${calls++}`, () => target.getChainId());
      if (prop === "getContractEvents")
        return (args: { args?: { id?: unknown } }) =>
          track(o.eventQueries ? `events:${queries++}` : attestation(args.args?.id), () =>
            target.getContractEvents(args as never),
          );
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

test("readMarket reads its listed credits with at most the page's limit of reads in flight, and what an unbounded read does", async () => {
  // every call counted: the credits' own reads (creditInfo, supplyOf, …), their payment tokens',
  // their event ranges and their issuances'
  const { client, stats } = counting(chain.client, { eventQueries: true, everyCall: true });
  const bounded = await readMarket(
    client,
    { ...marketAddresses, events: eventReads({ startBlock: deploymentBlock, concurrency: LIMIT }) },
    {},
  );
  // with a limiter per credit, up to (credits × its limit) were
  assert.ok(stats.max <= LIMIT, `${stats.max} reads were in flight at once (the page's limit ${LIMIT})`);
  assert.equal(stats.max, LIMIT);
  assert.equal(stats.blocks.size, ISSUANCES + 2 * MORE, "every listed credit's issuances read");
  const unbounded = await readMarket(
    chain.client,
    { ...marketAddresses, events: eventReads({ startBlock: 0, rangeBlocks: 1_000_000, concurrency: 1_000 }) },
    {},
  );
  assert.deepEqual(bounded, unbounded);
  assert.deepEqual(
    bounded.listings.map((l) => l.tokenId),
    listedTokenIds,
  );
  assert.deepEqual(
    bounded.listings.map((l) => [l.facilityId, l.vintage, l.attestedReadings]),
    [
      [FACILITY, 2025, ISSUANCES * 2],
      [FACILITY, 2026, MORE * 2],
      [FACILITY_2, 2026, MORE * 2],
    ],
  );
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

type GetLogs = { address: string; topics: (string | string[] | null)[]; fromBlock: bigint; toBlock: bigint };

/**
 * A client on the test chain whose transport logs every eth_getLogs; with `maxRange`, it refuses
 * one over more blocks, as hosted providers do (JSON-RPC -32005, limit exceeded).
 */
function loggingClient(maxRange?: bigint) {
  const getLogs: GetLogs[] = [];
  const node = http(chain.rpcUrl)({ retryCount: 0 });
  const client = createPublicClient({
    transport: custom(
      {
        async request({ method, params }: { method: string; params?: unknown }) {
          if (method === "eth_getLogs") {
            const f = (params as [{ address: string; topics: GetLogs["topics"]; fromBlock: Hex; toBlock: Hex }])[0];
            const q = {
              address: f.address,
              topics: f.topics,
              fromBlock: BigInt(f.fromBlock),
              toBlock: BigInt(f.toBlock),
            };
            getLogs.push(q);
            if (maxRange !== undefined && q.toBlock - q.fromBlock + 1n > maxRange)
              throw Object.assign(new Error(`query exceeds max block range ${maxRange}`), { code: -32005 });
          }
          return node.request({ method, params } as never);
        },
      },
      { retryCount: 0 },
    ),
  }) as PublicClient;
  return { client, getLogs };
}

test("readCreditFacts reads events from the deployment's block in ranges of 3 blocks, one attestation query for all, with the facts of one whole-chain read", async () => {
  const { client, getLogs } = loggingClient();
  const ranged = await readCreditFacts(
    client,
    { ...addresses, events: eventReads({ startBlock: deploymentBlock, rangeBlocks: 3 }) },
    tokenId,
    { concurrency: LIMIT },
  );
  const whole = await readCreditFacts(
    chain.client,
    { ...addresses, events: eventReads({ startBlock: 0, rangeBlocks: 1_000_000 }) },
    tokenId,
  );
  assert.deepEqual(ranged, whole);
  assert.deepEqual(
    ranged.issuances.map((i) => i.attestationId),
    ids,
  );
  assert.ok(
    ranged.issuances.every((i) => i.attestation.header && i.attestation.recomputedId === i.attestationId),
    "every attestation's header found and hashing to its id",
  );

  assert.ok(getLogs.length > 0);
  for (const q of getLogs) {
    assert.ok(q.toBlock - q.fromBlock + 1n <= 3n, `eth_getLogs over ${q.fromBlock}–${q.toBlock}`);
    assert.ok(q.fromBlock >= deploymentBlock, `eth_getLogs from ${q.fromBlock}, before the deployment's block`);
  }
  // each query's ranges tile the chain from the deployment's block, in order
  const byQuery = new Map<string, GetLogs[]>();
  for (const q of getLogs) {
    const key = `${q.address.toLowerCase()} ${JSON.stringify(q.topics)}`;
    byQuery.set(key, [...(byQuery.get(key) ?? []), q]);
  }
  for (const [query, ranges] of byQuery) {
    assert.equal(ranges[0]!.fromBlock, deploymentBlock, query);
    for (let i = 1; i < ranges.length; i++) assert.equal(ranges[i]!.fromBlock, ranges[i - 1]!.toBlock + 1n, query);
  }
  // the attestations' headers: one query by facility up to the last issuance, none per attestation
  const registry = getLogs.filter((q) => q.address.toLowerCase() === chain.registry.toLowerCase());
  assert.equal(byQuery.size, 2, "the credit's issuances and its facility's attestations");
  assert.equal(registry.length, Number((lastIssuanceBlock - deploymentBlock) / 3n + 1n));
  assert.equal(registry.at(-1)!.toBlock, lastIssuanceBlock);
  assert.equal(idString(registry[0]!.topics[2] as Hex), FACILITY);
  assert.ok(
    getLogs.every((q) => !q.topics.flat().some((t) => ids.some((a) => a.toLowerCase() === t?.toLowerCase()))),
    "no eth_getLogs filtered by an attestation id",
  );
});

test("a range the node refuses fails the read with the range and the setting to lower", async () => {
  const { client, getLogs } = loggingClient(3n);
  const deployment = {
    ...addresses,
    events: eventReads({ startBlock: deploymentBlock, rangeBlocks: 10, concurrency: 1 }),
  };
  await assert.rejects(readCreditFacts(client, deployment, tokenId), (e: unknown) => {
    assert.ok(e instanceof EventRangeError, String(e));
    assert.equal(e.fromBlock, deploymentBlock);
    assert.equal(e.toBlock, deploymentBlock + 9n);
    assert.match(e.message, new RegExp(`blocks ${deploymentBlock}–${deploymentBlock + 9n} \\(10 blocks\\)`));
    assert.match(e.message, /query exceeds max block range 3/);
    assert.match(e.message, /set CARBONPROOF_LOG_RANGE_BLOCKS below 10/);
    assert.match(
      e.message,
      new RegExp(`start at block ${deploymentBlock}, the deployment's \\(CARBONPROOF_START_BLOCK\\)`),
    );
    return true;
  });
  assert.equal(getLogs.length, 1, "no range sent after one was refused");
});
