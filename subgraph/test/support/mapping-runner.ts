/**
 * Runs the subgraph's mappings under node as graph-node would run them on a chain: the manifest is
 * generated for the given deployment, `graph codegen` writes the generated classes (offline), and
 * every log of a manifest address, in block and log order, is decoded with the data source's ABI,
 * made into the `ethereum.Event` graph-node hands a handler (parameters, block, transaction,
 * address, log indices) and passed to the handler the manifest names for its event signature.
 * Entities land in the store of the graph-ts stand-in (graph-ts.ts, graph-node's host functions).
 *
 * The mapping sources are copied with the schema into a temporary subgraph folder (as
 * build.test.ts does), so a developer's dist/ is neither needed nor touched. hooks.ts must be
 * registered (register.ts) before `prepareMappings` is called.
 */
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Interface, type EventFragment, type ParamType } from "ethers";
import { generate } from "../../scripts/generate.ts";
import { manifestHandlers } from "../../scripts/check-handlers.ts";
import { ensureArtifacts, repoRoot } from "./artifacts.ts";
import { emptyStore, put, type EntityRecord, type Store } from "./graph-node-standin.ts";
import { Address, BigInt as GraphBigInt, Bytes, Value, ValueKind, __host, ethereum } from "./graph-ts.ts";

const subgraphDir = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

type Handler = (event: unknown) => void;
type GeneratedModule = Record<string, { prototype: object }>;

export type DataSource = {
  name: string;
  address: string;
  network: string;
  context: Record<string, string>;
  abi: Interface;
  /** manifest event signature → handler name */
  handlers: Map<string, string>;
  mapping: Record<string, Handler>;
  generated: GeneratedModule;
};

/** A JSON-RPC call (eth_getLogs, eth_getBlockByNumber, eth_getTransactionByHash). */
export type Rpc = (method: string, params: unknown[]) => Promise<unknown>;

/** JSON-RPC over HTTP, as graph-node reads its Ethereum node. */
export function httpRpc(url: string): Rpc {
  let id = 0;
  return async (method, params) => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }),
    });
    const body = (await response.json()) as { result?: unknown; error?: { message?: string } };
    if (body.error) throw new Error(`${method} failed at ${url}: ${body.error.message ?? JSON.stringify(body.error)}`);
    return body.result;
  };
}

type RawLog = {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  transactionHash: string;
  logIndex: string;
};

export type Mappings = {
  dir: string;
  dataSources: DataSource[];
  /** Feeds every log of blocks `fromBlock`…latest to the handlers; returns the count per handler. */
  index(rpc: Rpc, fromBlock?: number): Promise<Map<string, number>>;
  /** Feeds events given as decoded JSON (the web indexer's scenario form), in the given order. */
  indexEvents(events: JsonEvent[]): Map<string, number>;
  cleanup(): void;
};

function run(command: string, args: string[], cwd: string): void {
  const r = spawnSync(command, args, {
    cwd,
    encoding: "utf8",
    env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
  });
  if (r.status !== 0)
    throw new Error(`${command} ${args.join(" ")} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

/** Data sources of a generated manifest (its own fixed layout, as check-handlers.ts reads it). */
function manifestDataSources(
  manifest: string,
): { name: string; address: string; network: string; file: string; context: Record<string, string> }[] {
  return manifest
    .split(/^ {2}- kind: ethereum\/contract$/m)
    .slice(1)
    .map((block) => {
      const field = (re: RegExp) => {
        const m = re.exec(block);
        if (!m) throw new Error(`manifest data source without ${re}:\n${block}`);
        return m[1]!;
      };
      const context: Record<string, string> = {};
      for (const m of block.matchAll(/^ {6}(\w+):\n {8}type: String\n {8}data: (".*")$/gm)) {
        context[m[1]!] = JSON.parse(m[2]!) as string;
      }
      return {
        name: field(/^ {4}name: (\S+)$/m),
        network: JSON.parse(field(/^ {4}network: (".*")$/m)) as string,
        address: JSON.parse(field(/^ {6}address: (".*")$/m)) as string,
        file: JSON.parse(field(/^ {6}file: (".*\.ts")$/m)) as string,
        context,
      };
    });
}

/**
 * Generates the manifest for `deployment` (Ignition's `deployed_addresses.json` shape:
 * `Module#Contract` → address), runs `graph codegen`, and imports each data source's mapping
 * and generated event classes.
 */
export async function prepareMappings(deployment: Record<string, string>): Promise<Mappings> {
  const dir = mkdtempSync(join(tmpdir(), "cp-subgraph-mappings-"));
  try {
    for (const p of ["schema.graphql", "src", "networks.config.json"]) {
      cpSync(join(subgraphDir, p), join(dir, p), { recursive: true });
    }
    // the copied .ts files are ES modules, as in the subgraph package
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module", private: true }));
    symlinkSync(join(repoRoot, "node_modules"), join(dir, "node_modules"), "dir");
    writeFileSync(join(dir, "deployed_addresses.json"), JSON.stringify(deployment, null, 2));
    await generate({
      subgraphDir: dir,
      artifactsDir: ensureArtifacts(),
      outDir: join(dir, "dist"),
      networksFile: join(dir, "networks.config.json"),
      deployment: join(dir, "deployed_addresses.json"),
      log: () => {},
    });
    run(
      join(repoRoot, "node_modules/.bin/graph"),
      ["codegen", "dist/subgraph.yaml", "--output-dir", "dist/generated"],
      dir,
    );

    const manifest = readFileSync(join(dir, "dist/subgraph.yaml"), "utf8");
    const handlers = manifestHandlers(manifest);
    const dataSources: DataSource[] = [];
    for (const ds of manifestDataSources(manifest)) {
      const abi = new Interface(readFileSync(join(dir, "dist/abis", `${ds.name}.json`), "utf8"));
      const mapping = (await import(pathToFileURL(resolve(dir, "dist", ds.file)).href)) as Record<string, Handler>;
      const generated = (await import(
        pathToFileURL(join(dir, "dist/generated", ds.name, `${ds.name}.ts`)).href
      )) as GeneratedModule;
      dataSources.push({ ...ds, abi, handlers: handlers.get(ds.name) ?? new Map(), mapping, generated });
    }
    __host.reset(readFileSync(join(dir, "schema.graphql"), "utf8"));
    return {
      dir,
      dataSources,
      index: (rpc, fromBlock = 0) => indexLogs(dataSources, rpc, fromBlock),
      indexEvents: (events) => indexJsonEvents(dataSources, events),
      cleanup: () => rmSync(dir, { recursive: true, force: true }),
    };
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

// ---------------------------------------------------------------- events as graph-node makes them

/** graph-cli's event signature: `indexed ` before indexed inputs, tuples as `(…)`. */
function manifestSignature(f: EventFragment): string {
  return `${f.name}(${f.inputs.map((i) => `${i.indexed ? "indexed " : ""}${i.format("sighash")}`).join(",")})`;
}

/** A decoded ABI value as graph-node's ethereum.Value. */
function ethValue(p: ParamType, v: unknown): InstanceType<typeof ethereum.Value> {
  const V = ethereum.Value;
  if (p.isTuple()) {
    const t = new ethereum.Tuple();
    p.components.forEach((c, i) => t.push(ethValue(c, (v as unknown[])[i])));
    return V.fromTuple(t);
  }
  if (p.isArray()) {
    const items = (v as unknown[]).map((x) => ethValue(p.arrayChildren, x));
    return p.arrayLength === -1 ? V.fromArray(items) : V.fromFixedSizedArray(items);
  }
  const t = p.baseType;
  if (t === "address") return V.fromAddress(Address.fromString(v as string));
  if (t === "bool") return V.fromBoolean(v as boolean);
  if (t === "string") return V.fromString(v as string);
  if (t === "bytes") return V.fromBytes(Bytes.fromHexString(v as string));
  if (t.startsWith("bytes")) return V.fromFixedBytes(Bytes.fromHexString(v as string));
  if (t.startsWith("uint")) return V.fromUnsignedBigInt(new GraphBigInt(v as bigint));
  if (t.startsWith("int")) return V.fromSignedBigInt(new GraphBigInt(v as bigint));
  throw new Error(`ABI type ${p.format()} is not converted`);
}

/** An indexed dynamic value arrives as its topic (keccak hash), as graph-node passes it. */
function paramValue(p: ParamType, v: unknown, topic: string | undefined): InstanceType<typeof ethereum.Value> {
  if (p.indexed && (p.isTuple() || p.isArray() || p.baseType === "string" || p.baseType === "bytes")) {
    return ethereum.Value.fromFixedBytes(Bytes.fromHexString(topic!));
  }
  return ethValue(p, v);
}

const big = (hex: string | null | undefined) => new GraphBigInt(BigInt(hex ?? "0x0"));
const bytes = (hex: string | null | undefined) => Bytes.fromHexString(hex ?? "0x");

type RawBlock = Record<string, string | null | undefined>;
type RawTx = Record<string, string | null | undefined>;

function blockOf(b: RawBlock) {
  return new ethereum.Block(
    bytes(b.hash),
    bytes(b.parentHash),
    bytes(b.sha3Uncles),
    Address.fromString(b.miner!),
    bytes(b.stateRoot),
    bytes(b.transactionsRoot),
    bytes(b.receiptsRoot),
    big(b.number),
    big(b.gasUsed),
    big(b.gasLimit),
    big(b.timestamp),
    big(b.difficulty),
    big(b.totalDifficulty),
    b.size ? big(b.size) : null,
    b.baseFeePerGas ? big(b.baseFeePerGas) : null,
  );
}

function transactionOf(t: RawTx) {
  return new ethereum.Transaction(
    bytes(t.hash),
    big(t.transactionIndex),
    Address.fromString(t.from!),
    t.to ? Address.fromString(t.to) : null,
    big(t.value),
    big(t.gas),
    big(t.gasPrice),
    bytes(t.input),
    big(t.nonce),
  );
}

type EthBlock = ReturnType<typeof blockOf>;
type EthTransaction = ReturnType<typeof transactionOf>;

/** Makes the event graph-node would and runs `handlerName` of `ds` on it; a failure names the event. */
function dispatch(
  ds: DataSource,
  fragment: EventFragment,
  handlerName: string,
  values: InstanceType<typeof ethereum.Value>[],
  block: EthBlock,
  transaction: EthTransaction,
  at: { logIndex: bigint; transactionLogIndex: bigint },
): void {
  const handler = ds.mapping[handlerName];
  if (!handler) throw new Error(`${ds.name}: the manifest names ${handlerName}, the mapping does not export it`);
  const parameters = fragment.inputs.map((p, i) => new ethereum.EventParam(p.name, values[i]!));
  const event = new ethereum.Event(
    Address.fromString(ds.address),
    new GraphBigInt(at.logIndex),
    new GraphBigInt(at.transactionLogIndex),
    null,
    block,
    transaction,
    parameters,
    null,
  );
  // graph-node hands the host event to the handler as its parameter type (the generated class)
  const eventClass = ds.generated[handlerName.slice("handle".length)];
  if (!eventClass) throw new Error(`${ds.name}: no generated class for ${handlerName}`);
  Object.setPrototypeOf(event, eventClass.prototype);
  __host.setBlock(block.number.value);
  __host.setDataSource(Address.fromString(ds.address), ds.network, ds.context);
  try {
    handler(event);
  } catch (e) {
    throw new Error(
      `${ds.name}.${handlerName} failed at block ${block.number.value}, log ${at.logIndex} (tx ${transaction.hash.toHexString()}): ${(e as Error).message}`,
      { cause: e },
    );
  }
}

async function indexLogs(dataSources: DataSource[], rpc: Rpc, fromBlock: number): Promise<Map<string, number>> {
  const byAddress = new Map(dataSources.map((d) => [d.address.toLowerCase(), d]));
  const logs = (await rpc("eth_getLogs", [
    { fromBlock: `0x${fromBlock.toString(16)}`, toBlock: "latest", address: dataSources.map((d) => d.address) },
  ])) as RawLog[];
  logs.sort(
    (a, b) => Number(BigInt(a.blockNumber) - BigInt(b.blockNumber)) || Number(BigInt(a.logIndex) - BigInt(b.logIndex)),
  );

  const blocks = new Map<string, ReturnType<typeof blockOf>>();
  const transactions = new Map<string, ReturnType<typeof transactionOf>>();
  const logsInTx = new Map<string, number>();
  const counts = new Map<string, number>();
  for (const log of logs) {
    const ds = byAddress.get(log.address.toLowerCase())!;
    const parsed = ds.abi.parseLog({ topics: log.topics, data: log.data });
    if (!parsed) throw new Error(`${ds.name}: a log its ABI does not know (topic ${log.topics[0]})`);
    // counted among the manifest addresses' logs only (graph-node counts all of the receipt's);
    // no mapping reads it
    const transactionLogIndex = logsInTx.get(log.transactionHash) ?? 0;
    logsInTx.set(log.transactionHash, transactionLogIndex + 1);
    const handlerName = ds.handlers.get(manifestSignature(parsed.fragment));
    if (!handlerName) continue; // graph-node skips events the manifest does not name

    let block = blocks.get(log.blockNumber);
    if (!block) {
      block = blockOf((await rpc("eth_getBlockByNumber", [log.blockNumber, false])) as RawBlock);
      blocks.set(log.blockNumber, block);
    }
    let transaction = transactions.get(log.transactionHash);
    if (!transaction) {
      transaction = transactionOf((await rpc("eth_getTransactionByHash", [log.transactionHash])) as RawTx);
      transactions.set(log.transactionHash, transaction);
    }
    let topic = 1;
    const parameters = parsed.fragment.inputs.map((p, i) =>
      paramValue(p, parsed.args[i], p.indexed ? log.topics[topic++] : undefined),
    );
    const at = { logIndex: BigInt(log.logIndex), transactionLogIndex: BigInt(transactionLogIndex) };
    dispatch(ds, parsed.fragment, handlerName, parameters, block, transaction, at);
    counts.set(`${ds.name}.${handlerName}`, (counts.get(`${ds.name}.${handlerName}`) ?? 0) + 1);
  }
  return counts;
}

// ---------------------------------------------------------------- events given as JSON

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** An event in the web indexer's decoded form (web/src/server/indexer/events.ts, IndexedEvent). */
export type JsonEvent = {
  blockNumber: number;
  blockHash: string;
  timestamp: number;
  transactionHash: string;
  transactionFrom: string | null;
  logIndex: number;
  address: string;
  eventName: string;
  args: { [key: string]: JsonValue };
};

/** JSON arguments (bigints as decimal strings, tuples as objects) → the decoded ABI values ethValue takes. */
function abiOfJson(p: ParamType, v: JsonValue): unknown {
  if (p.isTuple()) {
    return p.components.map((c, i) =>
      abiOfJson(c, Array.isArray(v) ? v[i]! : (v as { [key: string]: JsonValue })[c.name]!),
    );
  }
  if (p.isArray()) return (v as JsonValue[]).map((x) => abiOfJson(p.arrayChildren, x));
  if (p.baseType.startsWith("uint") || p.baseType.startsWith("int")) return BigInt(v as string | number);
  return v;
}

const ZERO_HASH = `0x${"00".repeat(32)}`;

function indexJsonEvents(dataSources: DataSource[], events: JsonEvent[]): Map<string, number> {
  const byAddress = new Map(dataSources.map((d) => [d.address.toLowerCase(), d]));
  const counts = new Map<string, number>();
  const logsInTx = new Map<string, number>();
  for (const e of events) {
    const ds = byAddress.get(e.address.toLowerCase());
    if (!ds) throw new Error(`no data source at ${e.address} (${e.eventName})`);
    const fragment = ds.abi.getEvent(e.eventName);
    if (!fragment) throw new Error(`${ds.name} has no event ${e.eventName}`);
    const handlerName = ds.handlers.get(manifestSignature(fragment));
    if (!handlerName) continue;
    const transactionLogIndex = logsInTx.get(e.transactionHash) ?? 0;
    logsInTx.set(e.transactionHash, transactionLogIndex + 1);
    const number = `0x${e.blockNumber.toString(16)}`;
    // the block and transaction fields the events carry; the rest zero, as no mapping reads them
    const block = blockOf({
      hash: e.blockHash,
      number,
      timestamp: `0x${e.timestamp.toString(16)}`,
      miner: ZERO_ADDRESS,
      parentHash: ZERO_HASH,
    });
    const transaction = transactionOf({
      hash: e.transactionHash,
      from: e.transactionFrom ?? ZERO_ADDRESS,
      to: e.address,
    });
    const values = fragment.inputs.map((p) => {
      if (!(p.name in e.args)) throw new Error(`${e.eventName} without argument ${p.name}`);
      return ethValue(p, abiOfJson(p, e.args[p.name]!));
    });
    dispatch(ds, fragment, handlerName, values, block, transaction, {
      logIndex: BigInt(e.logIndex),
      transactionLogIndex: BigInt(transactionLogIndex),
    });
    counts.set(`${ds.name}.${handlerName}`, (counts.get(`${ds.name}.${handlerName}`) ?? 0) + 1);
  }
  return counts;
}

const ZERO_ADDRESS = `0x${"00".repeat(20)}`;

// ---------------------------------------------------------------- reading the store

export type PlainValue = string | number | boolean | bigint | PlainValue[];

function plain(v: Value): PlainValue {
  switch (v.kind) {
    case ValueKind.BYTES:
      return v.toBytes().toHexString();
    case ValueKind.BIGINT:
      return v.toBigInt().value;
    case ValueKind.ARRAY:
      return v.toArray().map(plain);
    default:
      return v.data as PlainValue;
  }
}

/** The stored entities of `type`, id → fields (Bytes as lowercase hex, BigInt as bigint). */
export function entities(type: string): Map<string, Record<string, PlainValue>> {
  const out = new Map<string, Record<string, PlainValue>>();
  for (const [id, fields] of __host.all(type)) {
    out.set(id, Object.fromEntries([...fields].map(([k, v]) => [k, plain(v)])));
  }
  return out;
}

/** One stored entity, or a failure naming it. */
export function entity(type: string, id: string): Record<string, PlainValue> {
  const e = entities(type).get(id);
  if (!e) throw new Error(`no ${type} ${id} in the store`);
  return e;
}

function graphNodeField(v: Value): unknown {
  switch (v.kind) {
    case ValueKind.BYTES:
      return v.toBytes().toHexString();
    case ValueKind.BIGINT:
    case ValueKind.INT8:
      return String(plain(v)); // graph-node serves BigInt and Int8 as strings
    case ValueKind.ARRAY:
      return v.toArray().map(graphNodeField);
    default:
      return v.data;
  }
}

/** The store in graph-node-standin.ts's layout (what graph-node would serve from these entities). */
export function standInStore(): Store {
  const out = emptyStore();
  for (const [type, table] of __host.entities) {
    for (const fields of table.values()) {
      const record = Object.fromEntries([...fields].map(([k, v]) => [k, graphNodeField(v)])) as EntityRecord;
      put(out, type, record);
    }
  }
  return out;
}
