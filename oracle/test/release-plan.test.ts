/**
 * planRelease (quorum/release.ts), the plan behind `carbonproof-oracle cosigned release`: how it
 * asks the chain. The records are read from a real SQLite database; the chain is a stand-in (see
 * `heldChain`), because what is tested is how many reads are in flight and in which order their
 * answers come, which a real RPC node does not let a test choose. cosigned-cli.test.ts runs the
 * release end to end against a real AttestationRegistry on Hardhat.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { ContractFunctionZeroDataError } from "viem";
import { idToBytes32 } from "../../sdk/src/index.ts";
import {
  planRelease,
  RELEASE_CHECKS_IN_FLIGHT,
  type ReleaseChain,
  type ReleaseChainSource,
} from "../src/quorum/release.ts";
import { SqliteStorage } from "../src/storage/sqlite.ts";
import type { CosignRecord, CosignRegistry } from "../src/storage/types.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("cp-release-plan-");
let storage: SqliteStorage;
const FACILITY = idToBytes32("ktda-release");
const REGISTRY: CosignRegistry = { chainId: 31337, address: `0x${"11".repeat(20)}` };
const hex32 = (n: number) => `0x${n.toString(16).padStart(64, "0")}`;
/** records 1..20, each of its own hour: record n's period starts at n × 3600 */
const COUNT = 20;
const ids = Array.from({ length: COUNT }, (_, i) => hex32(i + 1));
const startOf = (id: string) => Number(BigInt(id)) * 3600;

before(() => {
  storage = new SqliteStorage(join(tmp.dir, "oracle.db"));
  for (const [i, id] of ids.entries()) {
    const record: CosignRecord = {
      attestationId: id,
      facilityId: FACILITY,
      periodStart: (i + 1) * 3600,
      periodEnd: (i + 2) * 3600,
      correctionOf: hex32(0),
      bundleCid: `bafkrei${i + 1}`,
      digests: [],
      signedAtMs: 1_000 + i,
      registry: REGISTRY,
    };
    assert.equal(storage.recordCosign(record).outcome, "recorded");
  }
});
after(() => {
  storage.close();
  tmp.cleanup();
});

/**
 * Stands in for the viem client the CLI gives planRelease (cli/main.ts `cosigned`): the
 * AttestationRegistry's `exists` read over chain.rpcUrl. It holds every read until
 * `answerLatestFirst` lets it go, the latest first, one a turn of the event loop: the reads in
 * flight pile up as far as planRelease lets them, and the answers come in another order than the
 * records'. `attested`: ids the registry knows; `failing`: ids whose read fails as viem's does on
 * an RPC node out of reach; `failingOnce`: ids whose first read fails so, as a rate-limited
 * provider's (HTTP 429) does for part of a burst, and the next answers; `noCode`: ids whose read
 * fails as viem's does when the registry address holds no code (the call returns no data).
 */
function heldChain(opts: { attested?: string[]; failing?: string[]; failingOnce?: string[]; noCode?: string[] } = {}) {
  const waiting: (() => void)[] = [];
  const seen = { asked: [] as string[], answered: [] as string[], inFlight: 0, maxInFlight: 0 };
  const chain: ReleaseChain = {
    chainId: REGISTRY.chainId,
    attested: async (registry, id) => {
      assert.equal(registry, REGISTRY.address, "each record is read on the registry it was co-signed for");
      seen.asked.push(id);
      seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
      await new Promise<void>((go) => waiting.push(go));
      seen.inFlight--;
      seen.answered.push(id);
      const once = opts.failingOnce?.includes(id) && seen.asked.filter((a) => a === id).length === 1;
      if (once || opts.failing?.includes(id)) throw new Error("HTTP request failed.\n\nURL: http://127.0.0.1:8545");
      if (opts.noCode?.includes(id)) throw new ContractFunctionZeroDataError({ functionName: "exists" });
      return opts.attested?.includes(id) ?? false;
    },
  };
  const answerLatestFirst = async <T>(plan: Promise<T>): Promise<T> => {
    let settled = false;
    plan.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) {
      await new Promise((r) => setImmediate(r));
      waiting.pop()?.();
    }
    return plan;
  };
  return { chain, seen, answerLatestFirst };
}

const plan = (chain: ReleaseChainSource, periods: number[], force = false) =>
  planRelease({
    storage,
    facilityId: FACILITY,
    periods: periods.map((start) => ({ start, end: null })),
    current: REGISTRY,
    registry: null,
    chain,
    force,
    // the pauses before a failed read is tried again, short here (0.5 s and 1.5 s by default)
    retryDelaysMs: [1, 2],
  });

describe("planRelease checks the records concurrently", () => {
  test(`asks the chain of every record, ${RELEASE_CHECKS_IN_FLIGHT} at a time, and keeps the records' order whichever answer comes first`, async () => {
    const { chain, seen, answerLatestFirst } = heldChain();
    const out = await answerLatestFirst(plan(async () => chain, ids.map(startOf)));
    assert.ok(out.ok, JSON.stringify(out));
    // one at a time, N records on a hanging RPC node waited N timeouts
    assert.equal(seen.maxInFlight, RELEASE_CHECKS_IN_FLIGHT);
    assert.deepEqual([...seen.asked].sort(), ids, "each record asked, once");
    assert.notDeepEqual(seen.answered, ids, "the answers came in another order than the records'");
    assert.deepEqual(
      out.records.map((r) => [r.record.attestationId, r.onChain]),
      ids.map((id) => [id, "not attested on the registry it was co-signed for"]),
    );
    assert.equal(out.summary, `${COUNT} not attested on the registry it was co-signed for`);
  });

  test("an attested header refuses the release, --force or not, whichever answers first: every other record is still asked, and the attested ones are named in the records' order", async () => {
    for (const force of [false, true]) {
      const { chain, seen, answerLatestFirst } = heldChain({
        attested: [ids[1]!, ids[12]!],
        failing: [ids[4]!],
      });
      const out = await answerLatestFirst(plan(async () => chain, ids.map(startOf), force));
      assert.equal(out.ok, false);
      assert.equal(!out.ok && out.code, "COSIGN_ATTESTED");
      assert.match(
        !out.ok ? out.message : "",
        new RegExp(
          `^the header ${ids[1]} \\(.*\\) is attested on-chain; the header ${ids[12]} \\(.*\\) is attested on-chain: their co-sign records stay, .*--force or not; nothing released$`,
        ),
      );
      assert.deepEqual([...seen.asked].sort(), ids, `force ${force}: each record asked`);
      assert.equal(seen.maxInFlight, RELEASE_CHECKS_IN_FLIGHT);
    }
  });

  test("the records whose read fails 3 times are named in the records' order, refused without --force and released unchecked with it", async () => {
    const failing = [ids[0]!, ids[6]!, ids[15]!];
    const why = `reading the AttestationRegistry failed 3 times: HTTP request failed. (at ${REGISTRY.address})`;
    const held = heldChain({ failing });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
    // each read once, then each failed one twice more after them all, one record at a time
    assert.deepEqual([...held.seen.asked.slice(0, COUNT)].sort(), ids);
    assert.deepEqual(
      held.seen.asked.slice(COUNT),
      failing.flatMap((id) => [id, id]),
    );
    assert.equal(!out.ok && out.code, "COSIGN_UNCHECKED");
    assert.match(
      !out.ok ? out.message : "",
      new RegExp(
        `^cannot check that 3 of the ${COUNT} headers are not attested on-chain \\(the headers ${failing.join(", ")}: ${why.replace(/[.()]/g, "\\$&")}\\)`,
      ),
    );
    const forcedChain = heldChain({ failing });
    const forced = await forcedChain.answerLatestFirst(plan(async () => forcedChain.chain, ids.map(startOf), true));
    assert.ok(forced.ok, JSON.stringify(forced));
    assert.deepEqual(
      forced.records.map((r) => [r.record.attestationId, r.onChain]),
      ids.map((id) => [
        id,
        failing.includes(id) ? `unchecked (forced): ${why}` : "not attested on the registry it was co-signed for",
      ]),
    );
  });
});

describe("planRelease reads again a record whose read failed (a rate-limited RPC provider)", () => {
  test("a read that fails once in the burst and then answers attested refuses the release, --force or not", async () => {
    for (const force of [false, true]) {
      const held = heldChain({ attested: [ids[9]!], failingOnce: [ids[9]!] });
      const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf), force));
      assert.equal(!out.ok && out.code, "COSIGN_ATTESTED", JSON.stringify(out));
      assert.match(!out.ok ? out.message : "", new RegExp(`^the header ${ids[9]} \\(.*\\) is attested on-chain: `));
      // read again after every other record's read, alone
      assert.deepEqual(held.seen.asked.slice(COUNT), [ids[9]], `force ${force}: read again once`);
    }
  });

  test("a read that fails once in the burst and then answers not attested is released as checked, without --force", async () => {
    const held = heldChain({ failingOnce: [ids[3]!, ids[17]!] });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
    assert.ok(out.ok, JSON.stringify(out));
    assert.equal(out.summary, `${COUNT} not attested on the registry it was co-signed for`);
    assert.deepEqual(held.seen.asked.slice(COUNT), [ids[3], ids[17]], "each read again once, in the records' order");
  });

  test("a registry address that holds no code is not read again: it answers alike every time", async () => {
    const held = heldChain({ noCode: [ids[7]!] });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
    assert.equal(!out.ok && out.code, "COSIGN_UNCHECKED");
    assert.match(
      !out.ok ? out.message : "",
      new RegExp(
        `\\(the header ${ids[7]}: reading the AttestationRegistry failed: The contract function "exists" returned no data \\("0x"\\)\\. \\(at ${REGISTRY.address}\\)\\)`,
      ),
    );
    assert.equal(held.seen.asked.length, COUNT, "each record read once");
  });

  test("no record is read again once a header is found attested: the release is refused whatever they say", async () => {
    const held = heldChain({ attested: [ids[2]!], failing: [ids[5]!, ids[11]!] });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf), true));
    assert.equal(!out.ok && out.code, "COSIGN_ATTESTED");
    assert.equal(held.seen.asked.length, COUNT, "each record read once");
  });
});

describe("planRelease asks for the chain only once a record is selected", () => {
  /** counts the times the release made its chain (the CLI's asks the RPC node its chain id) */
  const counted = () => {
    const made = { count: 0 };
    const source: ReleaseChainSource = async () => {
      made.count++;
      return { chainId: REGISTRY.chainId, attested: async () => false };
    };
    return { made, source };
  };

  test("a period without a record is refused without asking the chain, alone or after one with records", async () => {
    for (const periods of [[99], [startOf(ids[0]!), 99]]) {
      const { made, source } = counted();
      const out = await plan(source, periods, true);
      assert.equal(!out.ok && out.code, "COSIGN_NOT_FOUND", JSON.stringify(out));
      assert.match(!out.ok ? out.message : "", /for a period starting at 99 .*; nothing released$/);
      assert.equal(made.count, 0, `periods ${periods.join(", ")}: the chain was asked for`);
    }
  });

  test("a node whose config names no registry is refused without asking the chain", async () => {
    const { made, source } = counted();
    const out = await planRelease({
      storage,
      facilityId: FACILITY,
      periods: [{ start: startOf(ids[0]!), end: null }],
      current: null,
      registry: null,
      chain: source,
      force: true,
    });
    assert.equal(!out.ok && out.code, "COSIGN_NO_REGISTRY");
    assert.equal(made.count, 0);
  });

  test("with records selected the chain is made once for them all; unavailable, its reason is said of each", async () => {
    const { made, source } = counted();
    const read = await plan(source, ids.slice(0, 3).map(startOf));
    assert.equal(made.count, 1);
    assert.ok(read.ok && read.records.length === 3, JSON.stringify(read));
    let asked = 0;
    const out = await plan(async () => {
      asked++;
      return { unavailable: "chain.enabled is false in this node's config" };
    }, ids.slice(0, 2).map(startOf));
    assert.equal(asked, 1);
    assert.match(
      !out.ok ? out.message : "",
      new RegExp(
        `^cannot check that the headers are not attested on-chain \\(the headers ${ids[0]}, ${ids[1]}: chain\\.enabled is false in this node's config\\)`,
      ),
    );
  });
});
