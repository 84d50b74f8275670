/**
 * The embedded indexer against a real chain: a Hardhat node with the contracts deployed by
 * Ignition and seeded by scripts/seed-demo.ts (testChain.ts), then market activity sent here with
 * viem. Everything the indexer answers is compared with reads of the contracts themselves; then
 * the indexer is restarted (resumes from its cursor, no duplicate events), the chain reorganised
 * (evm_snapshot / evm_revert and different blocks), and pointed at another deployment (starts
 * over). The list methods and search run on the same seeded chain.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createPublicClient,
  createWalletClient,
  erc20Abi,
  http,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { mnemonicToAccount } from "viem/accounts";
import {
  attestationRegistryAbi,
  carbonCreditsAbi,
  deviceRegistryAbi,
  marketplaceAbi,
  oracleSetAbi,
  retirementCertificatesAbi,
} from "../../../../sdk/src/contracts/generated.ts";
import { chainFor } from "../../../../sdk/src/chain.ts";
import { protocolIdKey } from "@carbonproof/subgraph/client";
import { FsBlockstore } from "blockstore-fs";
import { CID } from "multiformats/cid";
import { EmbeddedRuntime, heliaBundleSource, type EmbeddedIndexerConfig } from "./index.ts";
import { inTransaction, openStore } from "./store.ts";
import { countingRows } from "./countingRows.test-support.ts";
import { ChainSync } from "./sync.ts";
import { INDEXED_CONTRACTS, type IndexedContract } from "./events.ts";
import { indexerConfigFor, startTestChain, type TestChain } from "./testChain.ts";

const DEV_MNEMONIC = "test test test test test test test test test test test junk";
const account = (i: number) => mnemonicToAccount(DEV_MNEMONIC, { addressIndex: i });
const lower = (a: string) => a.toLowerCase() as Hex;
/** The chain's height now (viem caches getBlockNumber for a polling interval by default). */
const head = async () => Number(await client.getBlockNumber({ cacheTime: 0 }));

let chain: TestChain;
let client: PublicClient;
let dir: string;
let runtime: EmbeddedRuntime;
const logLines: string[] = [];

function config(overrides: Partial<EmbeddedIndexerConfig> = {}): EmbeddedIndexerConfig {
  return indexerConfigFor(chain, {
    dbPath: join(dir, "indexer.sqlite"),
    pollMs: 1000,
    freshMs: 5000,
    log: (line, fields) => logLines.push(`${line} ${JSON.stringify(fields ?? {})}`),
    ...overrides,
  });
}

function read<T>(name: IndexedContract, abi: Abi, functionName: string, args: unknown[] = []): Promise<T> {
  return client.readContract({ address: chain.addresses[name], abi, functionName, args }) as Promise<T>;
}

async function send(from: number, address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<Hex> {
  const wallet = createWalletClient({
    account: account(from),
    chain: chainFor(31337, chain.rpcUrl),
    transport: http(chain.rpcUrl),
  });
  const { request } = await client.simulateContract({ account: account(from), address, abi, functionName, args });
  const hash = await wallet.writeContract(request);
  const receipt = await client.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success", `${functionName} succeeded`);
  return hash;
}

const retirementDetails = (beneficiary: Address, name: string) => ({
  beneficiary,
  beneficiaryName: name,
  reason: "Scope 1 offset, indexer test",
  consumptionCountry: "0x4b454e" as Hex,
  consumptionStart: 0n,
  consumptionEnd: 0n,
});

/** Buys `amount` of listing `id` as account `buyer` (TestUSD approved first), optionally retiring it. */
async function buy(buyer: number, id: bigint, amount: bigint, retireFor?: Address): Promise<Hex> {
  const [total] = await read<[bigint, bigint]>("Marketplace", marketplaceAbi as Abi, "quote", [id, amount]);
  await send(buyer, chain.addresses.TestUSD, erc20Abi as Abi, "approve", [chain.addresses.Marketplace, total]);
  return retireFor
    ? send(buyer, chain.addresses.Marketplace, marketplaceAbi as Abi, "buyAndRetire", [
        id,
        amount,
        total,
        retirementDetails(retireFor, "Buy-and-retire Ltd"),
      ])
    : send(buyer, chain.addresses.Marketplace, marketplaceAbi as Abi, "buy", [id, amount, total]);
}

/** Every credit fact the indexer has, checked against CarbonCredits, the Marketplace and the certificates. */
async function assertMatchesChain(): Promise<void> {
  const ix = runtime.indexer;
  const issuances = await ix.issuances({}, { first: 1000 });
  const tokenIds = [...new Set(issuances.map((i) => i.creditId))];
  assert.ok(tokenIds.length > 0);
  for (const tokenId of tokenIds) {
    const c = await ix.credit(tokenId);
    assert.ok(c, `credit ${tokenId} indexed`);
    const { issued, retired, retirements } = await read<{ issued: bigint; retired: bigint; retirements: bigint }>(
      "CarbonCredits",
      carbonCreditsAbi as Abi,
      "supplyOf",
      [tokenId],
    );
    assert.deepEqual(
      [c.issuedKg, c.retiredKg, BigInt(c.retirementCount)],
      [issued, retired, retirements],
      `credit ${tokenId}: issued, retired, retirements as CarbonCredits.supplyOf`,
    );
    assert.equal(c.supplyKg, await read<bigint>("CarbonCredits", carbonCreditsAbi as Abi, "totalSupply", [tokenId]));
    const [projectId, vintage] = await read<[bigint, number]>("CarbonCredits", carbonCreditsAbi as Abi, "creditInfo", [
      tokenId,
    ]);
    assert.deepEqual([c.project.id, c.vintage], [BigInt(projectId), vintage]);
    // Every account that ever held the token: its balance as balanceOf says.
    const transfers = await ix.transfers({ creditId: tokenId }, { first: 1000 });
    const holders = new Set(transfers.flatMap((t) => [t.from, t.to]).filter((a) => !/^0x0{40}$/.test(a)));
    let positive = 0;
    for (const holder of holders) {
      const onChain = await read<bigint>("CarbonCredits", carbonCreditsAbi as Abi, "balanceOf", [holder, tokenId]);
      const held = (await ix.holdings(holder)).find((h) => h.creditId === tokenId)?.amountKg ?? 0n;
      assert.equal(held, onChain, `balance of ${holder} in ${tokenId}`);
      if (onChain > 0n) positive++;
    }
    assert.equal(c.holderCount, positive, `holders of ${tokenId}`);
  }
  for (const l of await ix.listings({}, { first: 1000 })) {
    const onChain = await read<{ remaining: bigint; seller: Address; tokenId: bigint; unitPrice: bigint }>(
      "Marketplace",
      marketplaceAbi as Abi,
      "getListing",
      [l.id],
    );
    assert.equal(l.remainingKg, onChain.remaining, `listing ${l.id} remaining`);
    if (l.status === "Open") {
      assert.equal(l.seller, lower(onChain.seller));
      assert.equal(l.unitPrice, onChain.unitPrice);
    }
  }
  assert.equal(
    BigInt((await ix.overview()).listingCount),
    await read<bigint>("Marketplace", marketplaceAbi as Abi, "listingCount"),
  );
  for (const r of await ix.retirements({}, { first: 1000 })) {
    const cert = await read<{ creditId: bigint; beneficiary: Address; amount: bigint; beneficiaryName: string }>(
      "RetirementCertificates",
      retirementCertificatesAbi as Abi,
      "getCertificate",
      [r.certificateId],
    );
    assert.deepEqual(
      [r.creditId, r.beneficiary, r.amountKg, r.beneficiaryName],
      [cert.creditId, lower(cert.beneficiary), cert.amount, cert.beneficiaryName],
    );
    const detail = await ix.retirement(r.certificateId);
    assert.equal(
      detail?.locked,
      await read<boolean>("RetirementCertificates", retirementCertificatesAbi as Abi, "locked", [r.certificateId]),
    );
  }
}

before(async () => {
  chain = await startTestChain();
  client = createPublicClient({ transport: http(chain.rpcUrl) }) as PublicClient;
  dir = mkdtempSync(join(tmpdir(), "carbonproof-indexer-"));
  runtime = new EmbeddedRuntime(config());
});

after(async () => {
  await runtime?.stop().catch(() => undefined);
  await chain?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test("indexes the seeded chain: facilities, devices, oracle nodes, attestations and readings as the contracts hold them", async () => {
  const result = await runtime.syncNow();
  assert.ok(result.events > 0);
  await runtime.bundlesSettled();
  const ix = runtime.indexer;
  const overview = await ix.overview();
  assert.equal(overview.indexedBlock, await head());
  assert.equal(overview.indexingErrors, false);

  const directory = JSON.parse(readFileSync(join(chain.stateDir, "facilities.json"), "utf8")) as Record<
    string,
    unknown
  >;
  const facilities = await ix.facilities();
  assert.deepEqual(facilities.map((f) => f.code).sort(), Object.keys(directory).sort());
  for (const f of facilities) {
    assert.equal(
      f.attestedUntil,
      BigInt(await read<bigint>("AttestationRegistry", attestationRegistryAbi as Abi, "attestedUntil", [f.id])),
      `${f.code} attested until`,
    );
    const detail = await ix.facility(f.code!);
    assert.ok(detail);
    for (const d of detail.devices) {
      const onChain = await read<{ facilityId: Hex; kind: number; status: number; keyHistory: unknown[] }>(
        "DeviceRegistry",
        deviceRegistryAbi as Abi,
        "getDevice",
        [d.id],
      );
      assert.equal(onChain.facilityId, f.id);
      assert.equal(d.kind, ["FlueGas", "ElectricityMeter", "FuelMeter", "ManualEntry"][onChain.kind]);
      assert.equal(d.status, ["None", "Active", "Suspended", "Retired"][onChain.status]);
      assert.equal(d.keyCount, onChain.keyHistory.length);
    }
  }

  const nodes = await ix.oracleNodes();
  assert.equal(BigInt(nodes.length), await read<bigint>("OracleSet", oracleSetAbi as Abi, "nodeCount"));
  for (const n of nodes)
    assert.equal(n.address, lower(await read<Address>("OracleSet", oracleSetAbi as Abi, "nodeAt", [n.index])));

  const attestations = await ix.attestations({}, { first: 1000 });
  assert.equal(attestations.length, overview.attestationCount);
  assert.ok(attestations.length >= 6);
  let readingsSeen = 0n;
  for (const s of attestations) {
    const a = await ix.attestation(s.id);
    assert.ok(a);
    const record = await read<{ merkleRoot: Hex; submittedAt: bigint; revokedAt: bigint; signerBitmap: bigint }>(
      "AttestationRegistry",
      attestationRegistryAbi as Abi,
      "getAttestation",
      [s.id],
    );
    assert.equal(a.merkleRoot, record.merkleRoot);
    assert.equal(a.submittedAt, record.submittedAt);
    assert.equal(a.revoked, record.revokedAt !== 0n);
    for (const signer of a.signers)
      assert.ok(
        await read<boolean>("AttestationRegistry", attestationRegistryAbi as Abi, "wasSignedBy", [
          s.id,
          signer.address,
        ]),
      );
    const tx = await client.getTransaction({ hash: a.transactionHash });
    assert.deepEqual([a.submitter, lower(tx.to!)], [lower(tx.from), lower(chain.addresses.AttestationRegistry)]);
    // Its readings, from the evidence bundle whose CID the header names: they add up to the header.
    assert.equal(runtime.indexer.bundleStatus(s.id)?.state, "indexed");
    const readings = (await ix.readings({ attestationId: s.id }, { first: 1000 }))!;
    assert.equal(BigInt(readings.length), a.readingCount);
    assert.equal(readings.reduce((t, r) => t + r.fossilCo2eMg, 0n) / 1000n, a.fossilCo2eGrams);
    assert.equal(readings.reduce((t, r) => t + r.biogenicCo2Mg, 0n) / 1000n, a.biogenicCo2Grams);
    assert.deepEqual(
      readings.map((r) => r.leafIndex),
      readings.map((_, i) => i),
    );
    readingsSeen += a.readingCount;
  }
  assert.equal(readingsSeen, overview.readingCount);
  await assertMatchesChain();
});

test("list methods and search answer on the seeded chain", async () => {
  const ix = runtime.indexer;
  const facilities = await ix.facilities();
  const kangaita = facilities.find((f) => f.code === "ktda-kangaita")!;
  const devices = await ix.devices();
  assert.equal(
    devices.length,
    facilities.reduce((n, f) => n + f.deviceCount, 0),
  );
  const kangaitaDevices = await ix.devices({ facility: "ktda-kangaita" });
  assert.equal(kangaitaDevices.length, kangaita.deviceCount);
  assert.ok(kangaitaDevices.every((d) => d.facility.code === "ktda-kangaita"));
  assert.deepEqual(await ix.devices({ status: "Suspended" }), []);
  assert.ok(devices.every((d, i) => i === 0 || devices[i - 1]!.registeredAt >= d.registeredAt));

  const issuances = await ix.issuances();
  const issuedOnChain = await client.getContractEvents({
    address: chain.addresses.CarbonCredits,
    abi: carbonCreditsAbi,
    eventName: "CreditsIssued",
    fromBlock: 0n,
  });
  assert.equal(issuances.length, issuedOnChain.length);
  assert.equal(
    issuances.reduce((t, i) => t + i.amountKg, 0n),
    (await ix.overview()).issuedKg,
  );
  const kangaitaIssuances = await ix.issuances({ facility: "ktda-kangaita" });
  assert.ok(kangaitaIssuances.length > 0 && kangaitaIssuances.every((i) => i.facility.id === kangaita.id));
  const tokenId = kangaitaIssuances[0]!.creditId;
  assert.deepEqual(
    (await ix.issuances({ creditId: tokenId })).map((i) => i.attestationId).sort(),
    kangaitaIssuances
      .filter((i) => i.creditId === tokenId)
      .map((i) => i.attestationId)
      .sort(),
  );

  const mints = (await ix.transfers({ creditId: tokenId })).filter((t) => t.kind === "Mint");
  assert.equal(
    mints.reduce((t, m) => t + m.amountKg, 0n),
    (await ix.credit(tokenId))!.issuedKg,
  );
  const proponent = mints[0]!.to;
  const ofProponent = await ix.transfers({ account: proponent });
  assert.ok(ofProponent.length >= mints.length);
  assert.ok(ofProponent.every((t) => t.from === proponent || t.to === proponent));
  assert.ok(ofProponent.every((t, i) => i === 0 || ofProponent[i - 1]!.blockNumber >= t.blockNumber));

  // Search: every kind of term the explorer's search box takes.
  const attestation = (await ix.attestation((await ix.attestations({}, { first: 1 }))[0]!.id))!;
  const reading = (await ix.readings({ attestationId: attestation.id }, { first: 1 }))![0]!;
  const kinds = async (term: string) => (await ix.search(term)).map((h) => h.kind);
  assert.deepEqual(await kinds(attestation.id), ["attestation"]);
  assert.deepEqual(await ix.search(reading.digest), [
    {
      kind: "reading",
      id: reading.digest,
      label: `reading ${reading.deviceId} #${reading.seq}`,
      attestationId: attestation.id,
    },
  ]);
  assert.deepEqual(await kinds(attestation.transactionHash), ["transaction"]);
  assert.deepEqual(await kinds(attestation.bundleCid), ["bundle"]);
  const bundleHit = (await ix.search(attestation.bundleCid))[0]!;
  assert.equal(bundleHit.kind === "bundle" ? bundleHit.attestationId : undefined, attestation.id);
  assert.deepEqual(await kinds("ktda-kangaita"), ["facility"]);
  assert.deepEqual(await kinds(kangaita.id), ["facility"]);
  assert.deepEqual(await kinds("kangaita-chimney-1"), ["device"]);
  assert.deepEqual(await kinds(protocolIdKey("kangaita-chimney-1")), ["device"]);
  assert.deepEqual(await kinds(attestation.signers[0]!.address), ["oracleNode"]);
  assert.deepEqual(await kinds(proponent), ["account"]);
  assert.deepEqual(await kinds(tokenId.toString()), ["credit"]);
  const listing = (await ix.listings({}, { first: 1 }))[0]!;
  assert.ok((await kinds(listing.id.toString())).includes("listing"));
  assert.deepEqual(await ix.search("no-such-thing"), []);
  assert.deepEqual(await ix.search(`0x${"ab".repeat(32)}`), []);

  // Readings of a facility and per-source totals: every reading of its standing attestations.
  const latestDay = Math.floor(Number(attestation.periodEnd) / 86_400);
  const all = (await ix.sourceTotals({ fromDay: latestDay - 30, toDay: latestDay, facility: "ktda-kangaita" }))!;
  assert.deepEqual([...new Set(all.map((s) => s.source))].sort(), ["electricity-grid", "flue-gas"]);
  assert.equal(BigInt(all.reduce((n, s) => n + s.readingCount, 0)), kangaita.readingCount);
  const byDevice = (await ix.readings({ deviceId: "kangaita-chimney-1" }, { first: 5 }))!;
  assert.ok(byDevice.length === 5 && byDevice.every((r) => r.source === "flue-gas" && r.biogenicCo2Mg > 0n));
  assert.ok(byDevice.every((r, i) => i === 0 || byDevice[i - 1]!.ts >= r.ts));
  const ofFacility = (await ix.readings({ facility: "ktda-kangaita" }, { first: 3, skip: 2 }))!;
  assert.equal(ofFacility.length, 3);
});

let retirementCertificate: bigint;

test("new events after a sync appear incrementally: sales, buy-and-retire, retirements, transfers", async () => {
  const ix = runtime.indexer;
  const before = runtime.sync.cursor();
  const open = await ix.listings({ status: "Open" }, { first: 1000 });
  const [first, second] = open;
  assert.ok(first && second);
  /** an amount the listing sells: at least its minimum fill, 50 kg if it allows, never more than remains */
  const amountOf = async (id: bigint) => {
    const l = await read<{ minFill: bigint; remaining: bigint }>("Marketplace", marketplaceAbi as Abi, "getListing", [
      id,
    ]);
    const want = l.minFill > 50n ? l.minFill : 50n;
    return want > l.remaining ? l.remaining : want;
  };
  const buyer = account(1).address;
  const beneficiary = account(9).address;
  const saleTx = await buy(1, first.id, await amountOf(first.id));
  await buy(2, second.id, await amountOf(second.id), beneficiary);
  const retireTx = await send(1, chain.addresses.RetirementCertificates, retirementCertificatesAbi as Abi, "retire", [
    first.creditId,
    10n,
    retirementDetails(beneficiary, "Direct retiree plc"),
  ]);
  await send(1, chain.addresses.CarbonCredits, carbonCreditsAbi as Abi, "safeTransferFrom", [
    buyer,
    account(3).address,
    first.creditId,
    5n,
    "0x",
  ]);

  const result = await runtime.syncNow();
  assert.equal(result.fromBlock, before + 1, "the sync starts after the cursor");
  const sales = await ix.sales();
  assert.equal(sales.length, 2);
  assert.deepEqual(
    sales.map((s) => [s.listingId, s.buyer, s.retired]),
    [
      [second.id, lower(account(2).address), true],
      [first.id, lower(buyer), false],
    ],
  );
  assert.equal((await ix.sales({ listingId: first.id }))[0]!.transactionHash, saleTx);
  assert.equal((await ix.sales({ account: first.seller })).length, first.seller === second.seller ? 2 : 1);
  const retirements = await ix.retirements({ account: lower(beneficiary) });
  assert.equal(retirements.length, 2);
  assert.equal(retirements[0]!.transactionHash, retireTx);
  assert.equal(retirements[0]!.beneficiaryName, "Direct retiree plc");
  assert.equal(retirements[1]!.beneficiaryName, "Buy-and-retire Ltd");
  assert.equal(sales[0]!.certificateId, retirements[1]!.certificateId);
  retirementCertificate = retirements[0]!.certificateId;
  const detail = await ix.retirement(retirementCertificate);
  assert.equal(detail?.consumptionCountry, "KEN");
  assert.equal(detail?.locked, true);
  const transfers = await ix.transfers({ account: lower(account(3).address) });
  assert.deepEqual(
    transfers.map((t) => [t.kind, t.amountKg]),
    [["Transfer", 5n]],
  );
  const search = await ix.search(retirementCertificate.toString());
  assert.deepEqual(
    search.map((h) => h.kind),
    ["retirement"],
  );
  const o = await ix.overview();
  assert.equal(o.saleCount, 2);
  assert.equal(o.retirementCount, 2);
  await assertMatchesChain();
});

test("a restarted indexer resumes from its cursor without duplicating events", async () => {
  const count = (sql: string) => Number((runtime.db.prepare(sql).get() as { n: bigint }).n);
  const events = count("SELECT COUNT(*) n FROM events");
  const transfers = count("SELECT COUNT(*) n FROM transfers");
  const cursor = runtime.sync.cursor();
  const overview = await runtime.indexer.overview();
  await runtime.stop();

  runtime = new EmbeddedRuntime(config());
  assert.equal(runtime.sync.cursor(), cursor, "the cursor survived the restart");
  const result = await runtime.syncNow();
  assert.equal(result.fromBlock, cursor + 1);
  assert.equal(result.events, 0);
  assert.equal(count("SELECT COUNT(*) n FROM events"), events);
  assert.equal(count("SELECT COUNT(*) n FROM transfers"), transfers);
  assert.deepEqual(await runtime.indexer.overview(), overview);
  // Readings stay indexed across restarts: no bundle is fetched again.
  assert.equal(count("SELECT COUNT(*) n FROM bundles WHERE state <> 'indexed'"), 0);
  await assertMatchesChain();
});

test("a reorganised chain: events of abandoned blocks leave, the new blocks' events arrive", async () => {
  const ix = runtime.indexer;
  const snapshot = await client.request({ method: "evm_snapshot" as never, params: [] as never });
  const [tokenId] = (await ix.holdings(account(1).address)).map((h) => h.creditId);
  assert.ok(tokenId !== undefined);
  await send(1, chain.addresses.RetirementCertificates, retirementCertificatesAbi as Abi, "retire", [
    tokenId,
    7n,
    retirementDetails(account(8).address, "Abandoned fork"),
  ]);
  await runtime.syncNow();
  const abandoned = await ix.retirements({ account: lower(account(8).address) });
  assert.equal(abandoned.length, 1);
  const heightBefore = await head();

  assert.equal(await client.request({ method: "evm_revert" as never, params: [snapshot] as never }), true);
  const transferTx = await send(1, chain.addresses.CarbonCredits, carbonCreditsAbi as Abi, "safeTransferFrom", [
    account(1).address,
    account(4).address,
    tokenId,
    3n,
    "0x",
  ]);
  await client.request({ method: "hardhat_mine" as never, params: ["0x2"] as never });
  assert.ok((await head()) > heightBefore, "the new fork is longer");

  const result = await runtime.syncNow();
  assert.ok(result.reorgedTo !== undefined && result.reorgedTo < heightBefore, "the reorg was found");
  assert.ok(logLines.some((l) => l.includes("chain reorganisation")));
  assert.deepEqual(await ix.retirements({ account: lower(account(8).address) }), []);
  assert.equal(await ix.retirement(abandoned[0]!.certificateId), undefined);
  const moved = await ix.transfers({ account: lower(account(4).address) });
  assert.deepEqual(
    moved.map((t) => [t.transactionHash, t.amountKg]),
    [[transferTx, 3n]],
  );
  assert.equal((await ix.overview()).indexedBlock, await head());
  await assertMatchesChain();

  // A fork shorter than what was indexed (reverted, nothing mined since): back to the older state.
  const again = await client.request({ method: "evm_snapshot" as never, params: [] as never });
  const standing = await ix.transfers({ account: lower(account(4).address) });
  await send(1, chain.addresses.CarbonCredits, carbonCreditsAbi as Abi, "safeTransferFrom", [
    account(1).address,
    account(4).address,
    tokenId,
    1n,
    "0x",
  ]);
  await runtime.syncNow();
  assert.equal((await ix.transfers({ account: lower(account(4).address) })).length, standing.length + 1);
  assert.equal(await client.request({ method: "evm_revert" as never, params: [again] as never }), true);
  const shorter = await runtime.syncNow();
  assert.ok(shorter.reorgedTo !== undefined);
  assert.deepEqual(await ix.transfers({ account: lower(account(4).address) }), standing);
  assert.equal((await ix.overview()).indexedBlock, await head());
  await assertMatchesChain();
});

test("another deployment in the same store: it starts fresh, and says so", async () => {
  const events = Number((runtime.db.prepare("SELECT COUNT(*) n FROM events").get() as { n: bigint }).n);
  await runtime.stop();
  const elsewhere = "0x00000000000000000000000000000000000000e1" as Address;
  runtime = new EmbeddedRuntime(
    config({
      addresses: Object.fromEntries(INDEXED_CONTRACTS.map((n) => [n, elsewhere])) as Record<IndexedContract, Address>,
    }),
  );
  await runtime.syncNow();
  assert.ok(logLines.some((l) => l.includes("starting fresh")));
  assert.equal((await runtime.indexer.overview()).facilityCount, 0);
  await runtime.stop();

  runtime = new EmbeddedRuntime(config());
  await runtime.syncNow();
  assert.equal(Number((runtime.db.prepare("SELECT COUNT(*) n FROM events").get() as { n: bigint }).n), events);
  await assertMatchesChain();
});

test("evidence bundles from the oracle's Helia repository (blockstore on disk) index the same readings", async () => {
  // The oracle pins each bundle as one raw block in its FsBlockstore (<repo>/blocks); lay seed-demo's bundles out so.
  const repo = join(dir, "oracle-ipfs");
  const store = new FsBlockstore(join(repo, "blocks"));
  await store.open();
  for (const file of readdirSync(join(chain.stateDir, "bundles")))
    await store.put(CID.parse(file.replace(/\.json$/, "")), readFileSync(join(chain.stateDir, "bundles", file)));
  await store.close();
  const fromHelia = new EmbeddedRuntime(
    config({ dbPath: join(dir, "helia.sqlite"), bundleSources: [heliaBundleSource(repo)] }),
  );
  await fromHelia.syncNow();
  await fromHelia.bundlesSettled();
  const count = (r: EmbeddedRuntime) =>
    Number((r.db.prepare("SELECT COUNT(*) n FROM readings").get() as { n: bigint }).n);
  await runtime.bundlesSettled();
  assert.ok(count(fromHelia) > 0);
  assert.equal(count(fromHelia), count(runtime));
  assert.equal(
    Number((fromHelia.db.prepare("SELECT COUNT(*) n FROM bundles WHERE state <> 'indexed'").get() as { n: bigint }).n),
    0,
  );
  await fromHelia.stop();
});

test("an RPC that refuses wide log queries gets narrower ranges, and the same events", async () => {
  const db = openStore(join(dir, "narrow.sqlite"));
  const ranges: bigint[] = [];
  // The real client, except that getLogs over more than 8 blocks fails as hosted RPCs do.
  const narrow = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop !== "getLogs") return Reflect.get(target, prop, receiver);
      return async (args: { fromBlock: bigint; toBlock: bigint }) => {
        ranges.push(args.toBlock - args.fromBlock + 1n);
        if (args.toBlock - args.fromBlock >= 8n) throw new Error("query returned more than 10000 results");
        return target.getLogs(args as never);
      };
    },
  });
  const sync = new ChainSync(db, { ...config(), client: narrow });
  const result = await sync.syncOnce();
  assert.equal(result.toBlock, await head());
  assert.ok(ranges.some((n) => n > 8n) && ranges.some((n) => n <= 8n), "it was refused, then narrowed");
  const count = (d: typeof db) => Number((d.prepare("SELECT COUNT(*) n FROM events").get() as { n: bigint }).n);
  assert.equal(count(db), count(runtime.db));
  db.close();
});

test("a reorg between a range's logs and its end block is retried, not stored with the events of the new fork lost", async () => {
  const db = openStore(join(dir, "reorg-mid-range.sqlite"));
  // The real client, acting out a reorg that lands while the first range's logs are read: the old
  // fork had no CarbonProof logs (getLogs answers none) and another hash for the last block, the
  // new fork is the chain as it is.
  let reorged = false;
  let lastBlock = -1n;
  const racing = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "getLogs")
        return async (args: { toBlock: bigint }) => {
          if (reorged) return target.getLogs(args as never);
          reorged = true;
          lastBlock = args.toBlock;
          return [];
        };
      if (prop === "getBlock")
        return async (args: { blockNumber: bigint }) => {
          const block = await target.getBlock(args);
          return !reorged && args.blockNumber === (lastBlock < 0n ? block.number : lastBlock)
            ? { ...block, hash: `0x${"de".repeat(32)}` }
            : block;
        };
      return Reflect.get(target, prop, receiver);
    },
  });
  const sync = new ChainSync(db, { ...config(), client: racing });
  await assert.rejects(sync.syncOnce(), /changed while syncing \(reorg\): retrying/);
  await sync.syncOnce();
  const count = (d: typeof db) => Number((d.prepare("SELECT COUNT(*) n FROM events").get() as { n: bigint }).n);
  assert.ok(count(runtime.db) > 0);
  assert.equal(count(db), count(runtime.db), "every event of the chain indexed");
  db.close();
});

test("a sync with nothing new reads the newest stored block, not every block that had events", async () => {
  const db = openStore(join(dir, "counted.sqlite"));
  await new ChainSync(db, config()).syncOnce();
  // a long history's blocks with events (below the chain's first block: never compared)
  inTransaction(db, () => {
    const put = db.prepare("INSERT INTO blocks (number, hash, timestamp, has_events) VALUES (?, ?, 0, 1)");
    for (let n = 1; n <= 5_000; n++) put.run(-n, `0x${n.toString(16).padStart(64, "0")}`);
  });
  const counted = countingRows(db);
  const again = await new ChainSync(counted.db, config()).syncOnce();
  assert.equal(again.events, 0);
  assert.ok(counted.rows() < 100, `${counted.rows()} rows read`);
  db.close();
});

test("an unreachable RPC, or a chain of another id, is an error naming the setting to check", async () => {
  const down = new EmbeddedRuntime(config({ dbPath: join(dir, "down.sqlite"), rpcUrl: "http://127.0.0.1:9" }));
  await assert.rejects(
    down.indexer.overview(),
    (e: unknown) => (e as { code?: string }).code === "INDEXER_UNREACHABLE" && /CARBONPROOF_RPC_URL/.test(String(e)),
  );
  await down.stop();
  const wrongChain = new EmbeddedRuntime(config({ dbPath: join(dir, "wrong.sqlite"), chainId: 8453 }));
  await assert.rejects(
    wrongChain.indexer.facilities(),
    (e: unknown) =>
      (e as { code?: string }).code === "INDEXER_CONFIG_INVALID" &&
      /chain id 31337.*CARBONPROOF_CHAIN_ID/.test(String(e)),
  );
  await wrongChain.stop();
});
