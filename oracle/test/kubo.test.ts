/**
 * The node on a Kubo node (`ipfs.mode: kubo`, ipfs/kubo.ts) instead of the embedded store. No
 * Kubo binary can run here, so a stand-in for Kubo's RPC API answers (test/kubo-standin.ts: the
 * calls the node makes, with Kubo's answers and errors). What it shows: the requests the node
 * sends (so a real Kubo takes them as meant) and what the node makes of every answer.
 */
import { test, describe, after, before } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { KuboStore } from "../src/ipfs/kubo.ts";
import { CorruptBlockError, IpfsError, rawCid } from "../src/ipfs/store.ts";
import { KUBO_BLOCK_LIMIT, KuboStandIn } from "./kubo-standin.ts";
import { deviceInfo, makeDevice, postOldWindow, recordEvidence, testNode } from "./fixtures.ts";
import { runOracleCli, tempDir, waitFor } from "./helpers.ts";

describe("KuboStore against Kubo's RPC API", { timeout: 120_000 }, () => {
  const kubo = new KuboStandIn();
  let store: KuboStore;
  before(async () => {
    store = new KuboStore(await kubo.start(), 20_000);
  });
  after(() => kubo.stop());

  test("a put is one raw sha2-256 block, pinned, big blocks allowed; the CID it answers is checked against the bytes", async () => {
    const small = Buffer.from(`{"bundle":"${randomBytes(8).toString("hex")}"}`);
    const cid = await store.addAndPin(small);
    assert.equal(cid, rawCid(small));
    const q = kubo.callsTo("block/put").at(-1)!;
    assert.deepEqual(
      [q.get("format"), q.get("mhtype"), q.get("pin"), q.get("allow-big-block")],
      ["raw", "sha2-256", "true", "true"],
    );
    assert.ok(kubo.pins.has(cid));
    assert.equal(await store.isPinned(cid), true);

    // a long window's bundle: over Kubo's 1 MiB limit, which Kubo enforces unless told otherwise
    const big = randomBytes(KUBO_BLOCK_LIMIT + 4096);
    const form = new FormData();
    form.append("file", new Blob([big]));
    const plain = await fetch(`${kubo.url}/api/v0/block/put?pin=true`, { method: "POST", body: form });
    assert.equal(plain.status, 500);
    assert.match(((await plain.json()) as { Message: string }).Message, /over 1MiB.*--allow-big-block/);
    assert.equal(await store.addAndPin(big), rawCid(big));

    // a node that keeps the bytes under another CID: refused, not recorded as the bundle's
    kubo.putAnswer = cid;
    try {
      const other = Buffer.from("other bytes");
      const expected = new RegExp(`stored the block as ${cid}, not ${rawCid(other)}`);
      await assert.rejects(store.addAndPin(other), (err: Error) => {
        assert.match(err.message, expected);
        assert.match(err.message, /is ipfs\.kuboUrl a Kubo RPC API\?/);
        return true;
      });
    } finally {
      kubo.putAnswer = null;
    }
  });

  test("a block it holds is read and checked; one it lacks is null at once, without a search of the network, unless asked", async () => {
    const bytes = Buffer.from(`evidence ${randomBytes(8).toString("hex")}`);
    const cid = await store.addAndPin(bytes);
    assert.deepEqual(Buffer.from((await store.get(cid))!), bytes);
    assert.equal(kubo.callsTo("block/get").at(-1)!.get("offline"), "true");

    const absent = rawCid(Buffer.from(`never stored ${randomBytes(8).toString("hex")}`));
    assert.equal(await store.get(absent), null);
    assert.equal(kubo.searching, 0, "no search of the network was started");

    // asked to look on the network: a block a peer holds is fetched (and kept, as Kubo keeps it)
    const elsewhere = Buffer.from(`a bundle a peer pinned ${randomBytes(8).toString("hex")}`);
    const elsewhereCid = rawCid(elsewhere);
    kubo.network.set(elsewhereCid, elsewhere);
    assert.deepEqual(Buffer.from((await store.get(elsewhereCid, { network: true }))!), elsewhere);
    assert.equal(kubo.callsTo("block/get").at(-1)!.get("offline"), null);
    assert.deepEqual(Buffer.from((await store.get(elsewhereCid))!), elsewhere);
    // one no peer holds: the search lasts until the caller gives up, then an outage, not "absent"
    const giveUp = new AbortController();
    const search = store.get(absent, { network: true, signal: giveUp.signal });
    search.catch(() => {}); // asserted below
    await waitFor(() => kubo.searching === 1, { what: "Kubo searching the network" });
    giveUp.abort();
    await assert.rejects(search, (err: Error) => err instanceof IpfsError && /block\.get/.test(err.message));

    // held, not pinned
    const loose = Buffer.from("a block held without a pin");
    const looseCid = rawCid(loose);
    kubo.blocks.set(looseCid, loose);
    assert.equal(await store.isPinned(looseCid), false);
  });

  test("bytes that are not the block (a corrupt Kubo repository, a service serving something else) are refused, saying what to do", async () => {
    const bytes = Buffer.from(`bundle ${randomBytes(8).toString("hex")}`);
    const cid = await store.addAndPin(bytes);
    kubo.corrupt.add(cid);
    try {
      await assert.rejects(store.get(cid), (err: Error) => {
        assert.ok(err instanceof CorruptBlockError);
        assert.equal((err as CorruptBlockError).code, "IPFS_BLOCK_CORRUPT");
        assert.match(err.message, new RegExp(`the Kubo node at ${kubo.url} served bytes for block ${cid}`));
        assert.match(err.message, /ipfs repo verify/);
        assert.match(err.message, /carbonproof-oracle pin FILE/);
        return true;
      });
    } finally {
      kubo.corrupt.delete(cid);
    }
  });

  test("an error that quotes the configured URL (fetch refusing credentials in it) names Kubo without them", async () => {
    // the config refuses such a URL (config.test.ts); a store made from one directly still never echoes it
    const leaky = new KuboStore("http://oracle:s3cret@127.0.0.1:9/k3y-in-path", 5_000);
    const cid = rawCid(Buffer.from("x"));
    for (const call of [() => leaky.get(cid), () => leaky.isPinned(cid), () => leaky.addAndPin(Buffer.from("x"))])
      await assert.rejects(call(), (err: Error) => {
        assert.ok(err instanceof IpfsError);
        assert.match(err.message, /127\.0\.0\.1:9/);
        assert.doesNotMatch(err.message, /s3cret|k3y-in-path|oracle:/);
        return true;
      });
  });

  test("Kubo unreachable: every call is an outage (IPFS_UNAVAILABLE, retried by the pin queue), naming the URL", async () => {
    const gone = new KuboStandIn();
    const url = await gone.start();
    await gone.stop();
    const away = new KuboStore(url, 5_000);
    await assert.rejects(away.addAndPin(Buffer.from("x")), (err: Error) => {
      assert.ok(err instanceof IpfsError);
      assert.match(err.message, new RegExp(`is the Kubo RPC API at ${url} reachable\\?`));
      return true;
    });
    const cid = rawCid(Buffer.from("x"));
    await assert.rejects(away.get(cid), IpfsError);
    await assert.rejects(away.isPinned(cid), IpfsError);
  });
});

describe("a node on Kubo: bundles pinned there, backup --content, pin, restore --content", { timeout: 180_000 }, () => {
  const kubo = new KuboStandIn();
  const tmp = tempDir();
  const dataDir = join(tmp.dir, "data");
  const configFile = join(tmp.dir, "oracle.json");
  const cli = (...args: string[]) => runOracleCli([...args, "--config", configFile], {});
  const meter = makeDevice("kangaita-meter-kubo");
  let ipfs: { mode: "kubo"; kuboUrl: string; timeoutMs: number };
  before(async () => {
    ipfs = { mode: "kubo", kuboUrl: await kubo.start(), timeoutMs: 60_000 };
    writeFileSync(configFile, JSON.stringify({ dataDir, ipfs }));
  });
  type Node = Awaited<ReturnType<typeof testNode>>;
  /** nodes still running: stopped after a failed assertion too, or the run would never end */
  const running = new Set<Node>();
  const stop = async (node: Node) => {
    running.delete(node);
    await node.close();
  };
  after(async () => {
    for (const node of running) await stop(node);
    await kubo.stop();
    tmp.cleanup();
  });
  const start = async () => {
    const node = await testNode({
      dir: dataDir,
      devices: [deviceInfo(meter)],
      config: { storage: { driver: "sqlite", url: undefined }, ipfs },
    });
    running.add(node);
    return node;
  };

  test("the pipeline pins each bundle to Kubo; backup --content copies what Kubo holds without waiting on the network, names what it lacks or serves wrong; pin and restore --content put files back", async () => {
    let node = await start();
    const invoice = Buffer.from(`invoice KPLC-2026-12 ${randomBytes(8).toString("hex")}`);
    assert.equal(node.content!.kind, "kubo");
    const evidenceCid = await recordEvidence(node, invoice, meter.facilityId);
    // one reading: one window, one batch (a second one could land in a correction)
    await postOldWindow(node, meter, 1);
    const batches = await waitFor(
      () => {
        const pinned = node.storage.listBatches({}).filter((b) => b.bundleCid);
        return pinned.reduce((n, b) => n + b.readingCount, 0) === 1 ? pinned : null;
      },
      { what: "every reading's bundle pinned to Kubo" },
    );
    const bundles = new Map(batches.map((b) => [b.bundleCid!, kubo.blocks.get(b.bundleCid!)!]));
    for (const b of batches) {
      assert.ok(kubo.pins.has(b.bundleCid!), "pinned on the Kubo node");
      const readings = (JSON.parse(Buffer.from(bundles.get(b.bundleCid!)!).toString()) as { readings: unknown[] })
        .readings;
      assert.equal(readings.length, b.readingCount, "the bundle Kubo holds is the batch's");
    }
    const bundleCids = [...bundles.keys()];
    const [bundleCid, bundle] = [bundleCids[0]!, bundles.get(bundleCids[0]!)!];

    // a file the database names that Kubo never had, and one it serves wrong
    const lost = Buffer.from(`a meter photo nobody pinned ${randomBytes(4).toString("hex")}`);
    const lostCid = await recordEvidence(node, lost, meter.facilityId, { pinned: false });
    kubo.corrupt.add(evidenceCid);
    const contentDir = join(tmp.dir, "content");
    const backupFile = join(tmp.dir, "backup.db");
    const partial = await cli("backup", backupFile, "--content", contentDir); // the node running
    assert.equal(partial.code, 1, partial.stderr);
    assert.equal(kubo.searching, 0, "no block was looked for on the network");
    assert.ok(kubo.callsTo("block/get").every((q) => q.get("offline") === "true"));
    assert.match(
      partial.stderr,
      new RegExp(`2 of the ${bundleCids.length + 2} files it names are not in the node's IPFS store`),
    );
    assert.match(partial.stderr, new RegExp(`${lostCid}: not in the node's IPFS store`));
    assert.match(partial.stderr, new RegExp(`${evidenceCid}: the store's block: the Kubo node at .* served bytes`));
    assert.deepEqual(readdirSync(contentDir).sort(), bundleCids.sort());
    for (const [cid, bytes] of bundles)
      assert.deepEqual(new Uint8Array(readFileSync(join(contentDir, cid))), new Uint8Array(bytes));

    // the good copy of the invoice comes back from its uploader; Kubo's bad one is removed and the
    // file pinned while the node runs (a node on Kubo holds no lock on it)
    kubo.corrupt.delete(evidenceCid);
    kubo.blocks.delete(evidenceCid);
    kubo.pins.delete(evidenceCid);
    const recovered = join(tmp.dir, "recovered");
    mkdirSync(recovered);
    writeFileSync(join(recovered, "invoice.pdf"), invoice);
    const pinned = await cli("pin", join(recovered, "invoice.pdf"));
    assert.equal(pinned.code, 0, pinned.stderr);
    assert.deepEqual(
      (JSON.parse(pinned.stdout) as { store: string; pinned: { cid: string }[] }).pinned.map((p) => p.cid),
      [evidenceCid],
    );
    assert.equal((JSON.parse(pinned.stdout) as { store: string }).store, "kubo");
    assert.ok(kubo.pins.has(evidenceCid));
    await stop(node);

    const full = await cli("backup", join(tmp.dir, "backup-2.db"), "--content", contentDir);
    assert.match(full.stderr, new RegExp(lostCid), "the lost photo is still named");
    assert.deepEqual(readdirSync(contentDir).sort(), [...bundleCids, evidenceCid].sort());

    // the Kubo node's repository is lost: restore --content puts the directory back into it, pinned
    kubo.blocks.clear();
    kubo.pins.clear();
    const restored = await cli("restore", backupFile, "--content", contentDir);
    assert.equal(restored.code, 0, restored.stderr);
    assert.ok([...bundleCids, evidenceCid].every((cid) => kubo.pins.has(cid)));
    assert.deepEqual(Buffer.from(kubo.blocks.get(evidenceCid)!), invoice);
    node = await start();
    assert.deepEqual(new Uint8Array((await node.content!.get(bundleCid))!), new Uint8Array(bundle));
    assert.equal(await node.content!.isPinned(evidenceCid), true);
    await stop(node);
  });
});
