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
import {
  type Abi,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  ContractFunctionZeroDataError,
  HttpRequestError,
} from "viem";
import { idToBytes32 } from "../../sdk/src/index.ts";
import {
  planRelease,
  RELEASE_CHECKS_IN_FLIGHT,
  RELEASE_RETRY_GIVE_UP_AFTER,
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
 * fails as viem's does when the registry address holds no code (the call returns no data);
 * `reverting`: ids whose read fails as viem's readContract does when the call reverts; `thrown`:
 * ids whose read fails with the error given. `clock`: moved on `stallMs` by each failing read, as
 * an RPC node that stalls every read until the transport's timeout.
 */
function heldChain(
  opts: {
    attested?: string[];
    failing?: string[];
    failingOnce?: string[];
    noCode?: string[];
    reverting?: string[];
    thrown?: Map<string, Error>;
    stallMs?: number;
  } = {},
) {
  const waiting: (() => void)[] = [];
  const clock = { ms: 0 };
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
      if (once || opts.failing?.includes(id) || opts.thrown?.has(id)) clock.ms += opts.stallMs ?? 0;
      if (once || opts.failing?.includes(id)) throw new Error("HTTP request failed.\n\nURL: http://127.0.0.1:8545");
      if (opts.thrown?.has(id)) throw opts.thrown.get(id)!;
      if (opts.noCode?.includes(id)) throw new ContractFunctionZeroDataError({ functionName: "exists" });
      if (opts.reverting?.includes(id))
        throw readError(new ContractFunctionRevertedError({ abi: EXISTS_ABI, functionName: "exists", data: "0x" }), id);
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
  return { chain, seen, clock, answerLatestFirst };
}

/** The AttestationRegistry's `exists`, as the CLI's client reads it. */
const EXISTS_ABI = [
  {
    type: "function",
    name: "exists",
    stateMutability: "view",
    inputs: [{ name: "attestationId", type: "bytes32" }],
    outputs: [{ name: "", type: "bool" }],
  },
] as const satisfies Abi;
/** `cause` as viem's readContract throws it: wrapped in the error that names the call. */
const readError = (cause: Error, id: string) =>
  new ContractFunctionExecutionError(cause as ContractFunctionRevertedError, {
    abi: EXISTS_ABI,
    args: [id],
    contractAddress: REGISTRY.address as `0x${string}`,
    functionName: "exists",
  });

const plan = (chain: ReleaseChainSource, periods: number[], force = false, more: { now?: () => number } = {}) =>
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
    ...more,
  });
const escaped = (text: string) => text.replace(/[.()]/g, "\\$&");

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

  for (const [what, option, said] of [
    ["a registry address that holds no code", "noCode", 'returned no data \\("0x"\\)'],
    ["a call that reverts", "reverting", "reverted"],
  ] as const)
    test(`${what} is not read again: it answers alike every time`, async () => {
      const held = heldChain({ [option]: [ids[7]!] });
      const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
      assert.equal(!out.ok && out.code, "COSIGN_UNCHECKED");
      assert.match(
        !out.ok ? out.message : "",
        new RegExp(
          `\\(the header ${ids[7]}: reading the AttestationRegistry failed: The contract function "exists" ${said}\\. \\(at ${REGISTRY.address}\\)\\)`,
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

  test("a failed read is named by viem's short message and the HTTP status, never the URL (it may hold a provider's key)", async () => {
    const url = "https://rpc.example/v2/SECRET-KEY";
    const held = heldChain({
      thrown: new Map<string, Error>([
        [ids[2]!, readError(new HttpRequestError({ url, status: 429, details: "Too Many Requests" }), ids[2]!)],
        [ids[9]!, new HttpRequestError({ url, status: 503, details: `upstream ${url} unavailable` })],
      ]),
    });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
    const message = !out.ok ? out.message : "";
    assert.equal(!out.ok && out.code, "COSIGN_UNCHECKED", message);
    assert.match(
      message,
      new RegExp(
        escaped(
          `(the header ${ids[2]}: reading the AttestationRegistry failed 3 times: HTTP request failed (429): Too Many Requests (at ${REGISTRY.address}); ` +
            `the header ${ids[9]}: reading the AttestationRegistry failed 3 times: HTTP request failed (503) (at ${REGISTRY.address}))`,
        ),
      ),
    );
    assert.doesNotMatch(message, /SECRET-KEY|rpc\.example/);
  });

  test(`once ${RELEASE_RETRY_GIVE_UP_AFTER} records in a row have failed every try, the failed ones after them are not read again, and say so`, async () => {
    // read again: 0 and 2 fail, 5 answers (the row starts again), 7, 9 and 11 fail; 13 and 16 are not
    const failing = [0, 2, 7, 9, 11, 13, 16].map((n) => ids[n]!);
    const given = [13, 16].map((n) => ids[n]!);
    const why = (id: string) =>
      given.includes(id)
        ? `reading the AttestationRegistry failed: HTTP request failed. (at ${REGISTRY.address}); not read again: the ${RELEASE_RETRY_GIVE_UP_AFTER} before it failed every try`
        : `reading the AttestationRegistry failed 3 times: HTTP request failed. (at ${REGISTRY.address})`;
    const held = heldChain({ failing, failingOnce: [ids[5]!] });
    const out = await held.answerLatestFirst(plan(async () => held.chain, ids.map(startOf)));
    assert.deepEqual([...held.seen.asked.slice(0, COUNT)].sort(), ids, "every record asked once");
    assert.deepEqual(
      held.seen.asked.slice(COUNT),
      [0, 0, 2, 2, 5, 7, 7, 9, 9, 11, 11].map((n) => ids[n]),
    );
    assert.equal(!out.ok && out.code, "COSIGN_UNCHECKED");
    assert.match(!out.ok ? out.message : "", new RegExp(escaped(`the headers ${given.join(", ")}: ${why(given[0]!)}`)));
    const forcedChain = heldChain({ failing, failingOnce: [ids[5]!] });
    const forced = await forcedChain.answerLatestFirst(plan(async () => forcedChain.chain, ids.map(startOf), true));
    assert.ok(forced.ok, JSON.stringify(forced));
    assert.deepEqual(
      forced.records.map((r) => [r.record.attestationId, r.onChain]),
      ids.map((id) => [
        id,
        failing.includes(id) ? `unchecked (forced): ${why(id)}` : "not attested on the registry it was co-signed for",
      ]),
    );
  });

  test("once 30 s have gone on reading failed records again (each read stalling 10 s), no record is read again, and each left says so", async () => {
    // a failure and an answer in turn: never 3 failed in a row, only the time bounds it
    const failing = [0, 2, 4, 6].map((n) => ids[n]!);
    const held = heldChain({ failing, failingOnce: [1, 3, 5].map((n) => ids[n]!), stallMs: 10_000 });
    const out = await held.answerLatestFirst(
      plan(async () => held.chain, ids.map(startOf), true, { now: () => held.clock.ms }),
    );
    // 0 twice (20 s), 1 answers, 2 once more (30 s): spent
    assert.deepEqual(
      held.seen.asked.slice(COUNT),
      [0, 0, 1, 2].map((n) => ids[n]),
    );
    assert.ok(out.ok, JSON.stringify(out));
    const spent = `; reads stopped: the 30 s given to reading failed records again were spent`;
    const failed = (times: string) =>
      `unchecked (forced): reading the AttestationRegistry failed${times}: HTTP request failed. (at ${REGISTRY.address})`;
    assert.deepEqual(
      out.records.slice(0, 7).map((r) => r.onChain),
      [
        failed(" 3 times"),
        "not attested on the registry it was co-signed for",
        failed(" 2 times") + spent,
        failed("") + spent,
        failed("") + spent,
        failed("") + spent,
        failed("") + spent,
      ],
    );
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
