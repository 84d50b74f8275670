/**
 * The part of `@graphprotocol/graph-ts` that src/logic, src/mappings and the `graph codegen` output
 * (dist/generated) use, for node. Loaded through register.ts / hooks.ts, which redirect the package
 * specifier here for tests only, so node runs the very files that are compiled into the wasm.
 *
 * In the subgraph, most of graph-ts is a thin layer over graph-node's host functions (the store,
 * BigInt arithmetic, ABI encoding, logging, the data source); here those host functions are plain
 * TypeScript, written to fail where graph-node fails (a value read as the wrong kind, an i32 that
 * does not fit, an entity saved without a non-null field or with a field of the wrong type), since
 * a handler that only works in node would prove nothing. AssemblyScript builtins the generated code
 * calls (`changetype`, `assert`) are exported from here too; hooks.ts rewrites `changetype<T>(x)`,
 * whose type argument node would strip, to `__changetype(T, x)`.
 *
 * Test-side controls of the host (not graph-ts API): `__host` (store contents, schema, the block
 * and data source of the running trigger, log lines).
 */
import { Kind, parse, type TypeNode } from "graphql";

const I32_MIN = -(2n ** 31n);
const I32_MAX = 2n ** 31n - 1n;

function fitsI32(x: bigint): boolean {
  return x >= I32_MIN && x <= I32_MAX;
}

/** An AssemblyScript i32 argument: an integer in range (wasm would have truncated; we fail instead). */
function checkI32(x: number, what: string): number {
  if (!Number.isInteger(x) || !fitsI32(globalThis.BigInt(x))) throw new RangeError(`${what}: ${x} is not an i32`);
  return x;
}

// ---------------------------------------------------------------- AssemblyScript builtins

/**
 * AssemblyScript's `changetype<T>(x)` reinterprets a reference as another class (generated code
 * uses it for entities loaded from the store, tuples and call results). The JS equivalent is giving
 * the object T's prototype. hooks.ts passes T as the first argument.
 */
export function __changetype<T>(target: { prototype: object }, value: unknown): T {
  if (value === null || value === undefined) return null as T;
  Object.setPrototypeOf(value, target.prototype);
  return value as T;
}

/**
 * AssemblyScript's numeric cast `<T>x` (hooks.ts rewrites it to this): integers wrap to T's width,
 * as wasm's conversions do; a fraction cannot occur in the AssemblyScript sources.
 */
export function __cast(type: string, x: number | bigint): number | bigint {
  const n = typeof x === "bigint" ? x : globalThis.BigInt(x);
  switch (type) {
    case "i8":
      return Number(globalThis.BigInt.asIntN(8, n));
    case "i16":
      return Number(globalThis.BigInt.asIntN(16, n));
    case "i32":
    case "isize":
      return Number(globalThis.BigInt.asIntN(32, n));
    case "u8":
      return Number(globalThis.BigInt.asUintN(8, n));
    case "u16":
      return Number(globalThis.BigInt.asUintN(16, n));
    case "u32":
    case "usize":
      return Number(globalThis.BigInt.asUintN(32, n));
    default:
      return x; // i64 / u64 / floats: numbers here already
  }
}

/** AssemblyScript's `assert`: aborts the handler (graph-node fails the subgraph) when false. */
export function assert<T>(condition: T, message?: string): T {
  if (!condition) throw new Error(`assertion failed: ${message ?? ""}`);
  return condition;
}

// ---------------------------------------------------------------- BigInt, BigDecimal

/**
 * graph-ts's BigInt (a little-endian byte array whose arithmetic is graph-node's host `bigInt.*`):
 * arbitrary precision, division and shifts floor for non-negatives as graph-node's do.
 */
export class BigInt {
  readonly value: bigint;

  constructor(value: bigint) {
    this.value = value;
  }

  static fromI32(x: number): BigInt {
    return new BigInt(globalThis.BigInt(checkI32(x, "BigInt.fromI32")));
  }

  static fromU32(x: number): BigInt {
    return new BigInt(globalThis.BigInt(x));
  }

  static fromU64(x: number | bigint): BigInt {
    return new BigInt(globalThis.BigInt(x));
  }

  static fromI64(x: number | bigint): BigInt {
    return new BigInt(globalThis.BigInt(x));
  }

  static fromString(s: string): BigInt {
    return new BigInt(globalThis.BigInt(s));
  }

  static zero(): BigInt {
    return new BigInt(0n);
  }

  plus(o: BigInt): BigInt {
    return new BigInt(this.value + o.value);
  }

  minus(o: BigInt): BigInt {
    return new BigInt(this.value - o.value);
  }

  times(o: BigInt): BigInt {
    return new BigInt(this.value * o.value);
  }

  div(o: BigInt): BigInt {
    if (o.value === 0n) throw new RangeError("BigInt division by zero"); // graph-node aborts the handler
    return new BigInt(this.value / o.value);
  }

  mod(o: BigInt): BigInt {
    if (o.value === 0n) throw new RangeError("BigInt modulo by zero");
    return new BigInt(this.value % o.value);
  }

  neg(): BigInt {
    return new BigInt(-this.value);
  }

  bitAnd(o: BigInt): BigInt {
    return new BigInt(this.value & o.value);
  }

  bitOr(o: BigInt): BigInt {
    return new BigInt(this.value | o.value);
  }

  leftShift(bits: number): BigInt {
    return new BigInt(this.value << globalThis.BigInt(bits));
  }

  rightShift(bits: number): BigInt {
    return new BigInt(this.value >> globalThis.BigInt(bits));
  }

  isZero(): boolean {
    return this.value === 0n;
  }

  equals(o: BigInt): boolean {
    return this.value === o.value;
  }

  notEqual(o: BigInt): boolean {
    return this.value !== o.value;
  }

  lt(o: BigInt): boolean {
    return this.value < o.value;
  }

  le(o: BigInt): boolean {
    return this.value <= o.value;
  }

  gt(o: BigInt): boolean {
    return this.value > o.value;
  }

  ge(o: BigInt): boolean {
    return this.value >= o.value;
  }

  /** Like graph-ts: fails when the value does not fit an i32. */
  toI32(): number {
    if (!fitsI32(this.value)) throw new RangeError(`${this.value} does not fit i32`);
    return Number(this.value);
  }

  /** graph-ts fails outside i64; a JS number is exact only to 2^53, so this fails beyond that. */
  toI64(): number {
    if (
      this.value > globalThis.BigInt(Number.MAX_SAFE_INTEGER) ||
      this.value < -globalThis.BigInt(Number.MAX_SAFE_INTEGER)
    )
      throw new RangeError(`${this.value} does not fit an exact i64 here`);
    return Number(this.value);
  }

  toString(): string {
    return this.value.toString();
  }

  toHex(): string {
    return `0x${this.value.toString(16)}`;
  }

  /**
   * graph-ts overloads `+ - * / < > <= >=` on BigInt; JS would coerce the objects instead and
   * compute something else, so an operator on a BigInt fails here (use plus, lt, …). (`==` cannot
   * be caught: in JS it compares references where AssemblyScript compares values.)
   */
  [Symbol.toPrimitive](hint: string): string {
    if (hint === "string") return this.toString();
    throw new TypeError(
      `an operator on graph-ts BigInt ${this.value}: AssemblyScript overloads it, node would not (use plus/minus/lt/…)`,
    );
  }
}

/** graph-ts's BigDecimal; the schema declares none, so only its presence is stood in. */
export class BigDecimal {
  readonly digits: string;

  constructor(digits: string) {
    this.digits = digits;
  }

  toString(): string {
    return this.digits;
  }
}

// ---------------------------------------------------------------- Bytes, Address

/** graph-ts Bytes: a Uint8Array with hex helpers; hex strings are lowercase, as graph-ts writes them. */
export class Bytes extends Uint8Array {
  static fromHexString(hex: string): Bytes {
    const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
    if (clean.length % 2 !== 0) throw new Error(`fromHexString: odd-length hex ${hex}`);
    const out = new Bytes(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  static fromUint8Array(a: Uint8Array): Bytes {
    const out = new Bytes(a.length);
    out.set(a);
    return out;
  }

  /** Four bytes, little-endian (graph-ts ByteArray.fromI32). */
  static fromI32(x: number): Bytes {
    checkI32(x, "Bytes.fromI32");
    const out = new Bytes(4);
    new DataView(out.buffer).setInt32(0, x, true);
    return out;
  }

  static fromUTF8(s: string): Bytes {
    return Bytes.fromUint8Array(Buffer.from(s, "utf8"));
  }

  static empty(): Bytes {
    return new Bytes(0);
  }

  concat(other: Uint8Array): Bytes {
    const out = new Bytes(this.length + other.length);
    out.set(this);
    out.set(other, this.length);
    return out;
  }

  concatI32(x: number): Bytes {
    return this.concat(Bytes.fromI32(x));
  }

  equals(other: Uint8Array): boolean {
    return this.length === other.length && this.every((b, i) => b === other[i]);
  }

  notEqual(other: Uint8Array): boolean {
    return !this.equals(other);
  }

  toHexString(): string {
    return `0x${Buffer.from(this).toString("hex")}`;
  }

  toHex(): string {
    return this.toHexString();
  }

  toString(): string {
    return Buffer.from(this).toString("utf8");
  }
}

/** graph-ts Address: 20 bytes. */
export class Address extends Bytes {
  static fromString(s: string): Address {
    const b = Bytes.fromHexString(s);
    if (b.length !== 20) throw new Error(`Address.fromString: ${s} is not 20 bytes`);
    return Address.fromBytes(b);
  }

  static fromBytes(b: Uint8Array): Address {
    if (b.length !== 20) throw new Error(`Address.fromBytes: ${b.length} bytes, not 20`);
    const out = new Address(20);
    out.set(b);
    return out;
  }

  static zero(): Address {
    return new Address(20);
  }
}

// ---------------------------------------------------------------- store values and entities

/** graph-ts ValueKind (the store's value kinds), same numbering. */
export const ValueKind = {
  STRING: 0,
  INT: 1,
  BIGDECIMAL: 2,
  BOOL: 3,
  ARRAY: 4,
  NULL: 5,
  BYTES: 6,
  BIGINT: 7,
  INT8: 8,
  TIMESTAMP: 9,
} as const;
export type ValueKind = (typeof ValueKind)[keyof typeof ValueKind];
const VALUE_KIND_NAMES = Object.fromEntries(Object.entries(ValueKind).map(([k, v]) => [v, k])) as Record<
  number,
  string
>;

type StoreData = string | number | boolean | bigint | Bytes | BigInt | BigDecimal | Value[] | null;

/** A store value: kind and payload. Reading it as another kind aborts, as in graph-ts. */
export class Value {
  readonly kind: ValueKind;
  readonly data: StoreData;

  constructor(kind: ValueKind, data: StoreData) {
    this.kind = kind;
    this.data = data;
  }

  private expect(kind: ValueKind, what: string): StoreData {
    if (this.kind !== kind) throw new Error(`Value is not ${what} (it is ${this.displayKind()})`);
    return this.data;
  }

  static fromString(s: string): Value {
    return new Value(ValueKind.STRING, s);
  }

  static fromI32(x: number): Value {
    return new Value(ValueKind.INT, checkI32(x, "Value.fromI32"));
  }

  static fromI64(x: number | bigint): Value {
    return new Value(ValueKind.INT8, globalThis.BigInt(x));
  }

  static fromBoolean(b: boolean): Value {
    return new Value(ValueKind.BOOL, b);
  }

  /** graph-node keeps bytes, not the Address or Bytes object handed in: store a plain copy. */
  static fromBytes(b: Uint8Array): Value {
    return new Value(ValueKind.BYTES, Bytes.fromUint8Array(b));
  }

  static fromBigInt(b: BigInt): Value {
    return new Value(ValueKind.BIGINT, b);
  }

  static fromBigDecimal(d: BigDecimal): Value {
    return new Value(ValueKind.BIGDECIMAL, d);
  }

  static fromArray(values: Value[]): Value {
    return new Value(ValueKind.ARRAY, values);
  }

  static fromStringArray(values: string[]): Value {
    return Value.fromArray(values.map((s) => Value.fromString(s)));
  }

  static fromBytesArray(values: Uint8Array[]): Value {
    return Value.fromArray(values.map((b) => Value.fromBytes(b)));
  }

  static fromBigIntArray(values: BigInt[]): Value {
    return Value.fromArray(values.map((b) => Value.fromBigInt(b)));
  }

  static fromNull(): Value {
    return new Value(ValueKind.NULL, null);
  }

  toString(): string {
    return this.expect(ValueKind.STRING, "a string") as string;
  }

  toI32(): number {
    return this.expect(ValueKind.INT, "an i32") as number;
  }

  toI64(): bigint {
    return this.expect(ValueKind.INT8, "an i64") as bigint;
  }

  toBoolean(): boolean {
    return this.expect(ValueKind.BOOL, "a boolean") as boolean;
  }

  toBytes(): Bytes {
    return this.expect(ValueKind.BYTES, "a byte array") as Bytes;
  }

  toBigInt(): BigInt {
    return this.expect(ValueKind.BIGINT, "a BigInt") as BigInt;
  }

  toBigDecimal(): BigDecimal {
    return this.expect(ValueKind.BIGDECIMAL, "a BigDecimal") as BigDecimal;
  }

  toArray(): Value[] {
    return this.expect(ValueKind.ARRAY, "an array") as Value[];
  }

  toStringArray(): string[] {
    return this.toArray().map((v) => v.toString());
  }

  toBytesArray(): Bytes[] {
    return this.toArray().map((v) => v.toBytes());
  }

  toBigIntArray(): BigInt[] {
    return this.toArray().map((v) => v.toBigInt());
  }

  displayKind(): string {
    return VALUE_KIND_NAMES[this.kind] ?? String(this.kind);
  }

  displayData(): string {
    if (this.data === null) return "null";
    if (this.data instanceof Uint8Array) return Bytes.fromUint8Array(this.data).toHexString();
    if (Array.isArray(this.data)) return `[${this.data.map((v) => v.displayData()).join(", ")}]`;
    return String(this.data);
  }
}

export class TypedMapEntry<K, V> {
  key: K;
  value: V;

  constructor(key: K, value: V) {
    this.key = key;
    this.value = value;
  }
}

/** graph-ts TypedMap: an ordered list of entries, keys compared by value. */
export class TypedMap<K, V> {
  entries: TypedMapEntry<K, V>[] = [];

  set(key: K, value: V): void {
    const entry = this.getEntry(key);
    if (entry !== null) entry.value = value;
    else this.entries.push(new TypedMapEntry(key, value));
  }

  getEntry(key: K): TypedMapEntry<K, V> | null {
    return this.entries.find((e) => e.key === key) ?? null;
  }

  mustGetEntry(key: K): TypedMapEntry<K, V> {
    const e = this.getEntry(key);
    assert(e !== null, `Entry for key ${String(key)} does not exist in TypedMap`);
    return e!;
  }

  get(key: K): V | null {
    const e = this.getEntry(key);
    return e === null ? null : e.value;
  }

  mustGet(key: K): V {
    return this.mustGetEntry(key).value;
  }

  isSet(key: K): boolean {
    return this.getEntry(key) !== null;
  }
}

/** graph-ts Entity: field name → Value; the generated entity classes extend it. */
export class Entity extends TypedMap<string, Value> {
  unset(key: string): void {
    this.set(key, Value.fromNull());
  }

  getString(key: string): string {
    return this.get(key)!.toString();
  }

  getBytes(key: string): Bytes {
    return this.get(key)!.toBytes();
  }

  getBigInt(key: string): BigInt {
    return this.get(key)!.toBigInt();
  }

  getI32(key: string): number {
    return this.get(key)!.toI32();
  }

  getBoolean(key: string): boolean {
    return this.get(key)!.toBoolean();
  }
}

/** graph-ts JSONValue: imported by the generated code, never used by the mappings. */
export class JSONValue {}

/** Int8 (i64) is a type alias in graph-ts; the generated schema imports it. */
export type Int8 = bigint;
export const Int8 = undefined;

/** graph-ts DataSourceContext: an Entity of settings the manifest passes to a data source. */
export class DataSourceContext extends Entity {}

// ---------------------------------------------------------------- the host: store, data source, log

/** What the schema says of one entity field, to check saves as graph-node does. */
type FieldSpec = { name: string; required: boolean; list: boolean; kinds: ValueKind[] };
type EntitySpec = { name: string; immutable: boolean; fields: Map<string, FieldSpec> };

function scalarKinds(name: string, idKinds: Map<string, ValueKind>): ValueKind[] {
  switch (name) {
    case "Bytes":
      return [ValueKind.BYTES];
    case "BigInt":
      return [ValueKind.BIGINT];
    case "BigDecimal":
      return [ValueKind.BIGDECIMAL];
    case "String":
    case "ID":
      return [ValueKind.STRING];
    case "Int":
      return [ValueKind.INT];
    case "Int8":
    case "Timestamp":
      return [ValueKind.INT8];
    case "Boolean":
      return [ValueKind.BOOL];
    default: {
      const k = idKinds.get(name); // a reference is stored as the referenced entity's id
      return k === undefined ? [ValueKind.STRING] : [k]; // enums are strings
    }
  }
}

function entitySpecs(schemaSource: string): Map<string, EntitySpec> {
  const doc = parse(schemaSource);
  const types = doc.definitions.filter(
    (d) => d.kind === Kind.OBJECT_TYPE_DEFINITION && d.directives?.some((x) => x.name.value === "entity"),
  );
  const named = (t: TypeNode): string => (t.kind === Kind.NAMED_TYPE ? t.name.value : named(t.type));
  const idKinds = new Map<string, ValueKind>();
  for (const d of types) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const id = d.fields?.find((f) => f.name.value === "id");
    idKinds.set(d.name.value, id && named(id.type) === "Bytes" ? ValueKind.BYTES : ValueKind.STRING);
  }
  const specs = new Map<string, EntitySpec>();
  for (const d of types) {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION) continue;
    const entity = d.directives!.find((x) => x.name.value === "entity")!;
    const immutable = entity.arguments?.some(
      (a) => a.name.value === "immutable" && a.value.kind === Kind.BOOLEAN && a.value.value,
    );
    const fields = new Map<string, FieldSpec>();
    for (const f of d.fields ?? []) {
      if (f.directives?.some((x) => x.name.value === "derivedFrom")) continue; // never stored
      const inner = f.type.kind === Kind.NON_NULL_TYPE ? f.type.type : f.type;
      fields.set(f.name.value, {
        name: f.name.value,
        required: f.type.kind === Kind.NON_NULL_TYPE,
        list: inner.kind === Kind.LIST_TYPE,
        kinds: scalarKinds(named(f.type), idKinds),
      });
    }
    specs.set(d.name.value, { name: d.name.value, immutable: immutable === true, fields });
  }
  return specs;
}

type StoredEntity = Map<string, Value>;

/**
 * The host's side, driven by the tests: graph-node's entity store (entity type → id → fields),
 * the data source a handler runs for, and the log. `reset` starts an empty subgraph.
 */
export const __host = {
  entities: new Map<string, Map<string, StoredEntity>>(),
  specs: null as Map<string, EntitySpec> | null,
  dataSource: { address: Address.zero(), network: "", context: new DataSourceContext() },
  logs: [] as { level: string; message: string }[],
  /** The block the running handler's trigger is in (graph-node writes entities per block). */
  block: 0n,
  /** Block in which each immutable entity (type:id) was first written. */
  writtenAt: new Map<string, bigint>(),

  /** An empty store checked against `schemaSource` (schema.graphql). */
  reset(schemaSource: string): void {
    this.entities = new Map();
    this.specs = entitySpecs(schemaSource);
    this.logs = [];
    this.block = 0n;
    this.writtenAt = new Map();
  },

  /** Sets the block of the next trigger. */
  setBlock(number: bigint): void {
    this.block = number;
  },

  /** Sets the data source the next handler runs for (graph-node does it per trigger). */
  setDataSource(address: Uint8Array, network: string, context: Record<string, string>): void {
    const c = new DataSourceContext();
    for (const [k, v] of Object.entries(context)) c.set(k, Value.fromString(v));
    this.dataSource = { address: Address.fromBytes(address), network, context: c };
  },

  /** Every stored entity of `type`, as field → Value. */
  all(type: string): Map<string, StoredEntity> {
    return this.entities.get(type) ?? new Map();
  },
};

function checkEntity(type: string, id: string, fields: StoredEntity): void {
  const spec = __host.specs?.get(type);
  if (!spec) throw new Error(`store.set: unknown entity type ${type} (is __host.reset called with the schema?)`);
  for (const [name, value] of fields) {
    const f = spec.fields.get(name);
    if (!f) throw new Error(`Entity ${type}[${id}]: unknown field \`${name}\``);
    if (value.kind === ValueKind.NULL) continue;
    const kinds = f.list ? [ValueKind.ARRAY] : f.kinds;
    if (!kinds.includes(value.kind))
      throw new Error(
        `Entity ${type}[${id}]: field \`${name}\` is ${value.displayKind()}, the schema says ${f.kinds.map((k) => VALUE_KIND_NAMES[k]).join("|")}`,
      );
  }
  for (const f of spec.fields.values()) {
    const v = fields.get(f.name);
    if (f.required && (v === undefined || v.kind === ValueKind.NULL))
      throw new Error(`Entity ${type}[${id}]: missing value for non-nullable field \`${f.name}\``);
  }
  const idValue = fields.get("id");
  const idString = idValue?.kind === ValueKind.BYTES ? idValue.toBytes().toHexString() : idValue?.data;
  if (idString !== id) throw new Error(`Entity ${type}[${id}]: the id field (${String(idString)}) is not the key`);
}

/**
 * graph-node's store refuses to change an immutable entity once its block is written: within the
 * block that made it, sets merge (the block's entity cache), in a later block they fail the
 * subgraph ("entities of type `X` can not be updated since they are immutable").
 */
function checkImmutable(type: string, id: string, what: string): void {
  if (!__host.specs?.get(type)?.immutable) return;
  const key = `${type}:${id}`;
  const at = __host.writtenAt.get(key);
  if (at === undefined) {
    if (what === "updated") __host.writtenAt.set(key, __host.block);
    return;
  }
  if (at !== __host.block)
    throw new Error(
      `entities of type \`${type}\` can not be ${what} since they are immutable (id ${id}, written in block ${at})`,
    );
}

/** graph-node's store host functions (store.get / set / remove / get_in_block). */
export const store = {
  get(type: string, id: string): Entity | null {
    const stored = __host.entities.get(type)?.get(id);
    if (!stored) return null;
    const e = new Entity(); // a fresh copy, as graph-node deserialises one per load
    for (const [k, v] of stored) e.set(k, v);
    return e;
  },

  /** Every handler here runs in its own block's context; loadInBlock sees the same store. */
  get_in_block(type: string, id: string): Entity | null {
    return store.get(type, id);
  },

  /** Merges `data` into the stored entity (graph-node keeps fields not set), then checks it. */
  set(type: string, id: string, data: Entity): void {
    let table = __host.entities.get(type);
    if (!table) {
      table = new Map();
      __host.entities.set(type, table);
    }
    const merged: StoredEntity = new Map(table.get(id) ?? []);
    for (const e of data.entries) merged.set(e.key, e.value);
    for (const [k, v] of merged) if (v.kind === ValueKind.NULL) merged.delete(k);
    checkEntity(type, id, merged);
    checkImmutable(type, id, "updated");
    table.set(id, merged);
  },

  remove(type: string, id: string): void {
    checkImmutable(type, id, "deleted");
    __host.entities.get(type)?.delete(id);
  },

  loadRelated(): Entity[] {
    throw new Error("store.loadRelated is not stood in (the mappings do not read derived fields)");
  },
};

/** graph-ts `dataSource`: the address, network and context graph-node runs the handler for. */
export const dataSource = {
  address(): Address {
    return __host.dataSource.address;
  },
  network(): string {
    return __host.dataSource.network;
  },
  context(): DataSourceContext {
    return __host.dataSource.context;
  },
};

function logLine(level: string, message: string, args: string[]): void {
  let i = 0;
  const text = message.replace(/\{\}/g, () => args[i++] ?? "{}");
  __host.logs.push({ level, message: text });
  if (level === "critical") throw new Error(`log.critical: ${text}`); // graph-node aborts the subgraph
}

/** graph-ts `log` (graph-node's host logger). */
export const log = {
  debug: (m: string, a: string[] = []) => logLine("debug", m, a),
  info: (m: string, a: string[] = []) => logLine("info", m, a),
  warning: (m: string, a: string[] = []) => logLine("warning", m, a),
  error: (m: string, a: string[] = []) => logLine("error", m, a),
  critical: (m: string, a: string[] = []) => logLine("critical", m, a),
};

// ---------------------------------------------------------------- ethereum

const EthKind = {
  ADDRESS: 0,
  FIXED_BYTES: 1,
  BYTES: 2,
  INT: 3,
  UINT: 4,
  BOOL: 5,
  STRING: 6,
  FIXED_ARRAY: 7,
  ARRAY: 8,
  TUPLE: 9,
} as const;
type EthKind = (typeof EthKind)[keyof typeof EthKind];
type EthData = Address | Bytes | BigInt | boolean | string | EthValue[] | EthTuple;

/** An ABI value as graph-node hands it to the mapping (ethereum.Value). */
class EthValue {
  readonly kind: EthKind;
  readonly data: EthData;

  constructor(kind: EthKind, data: EthData) {
    this.kind = kind;
    this.data = data;
  }

  private expect(kinds: EthKind[], what: string): EthData {
    if (!kinds.includes(this.kind)) throw new Error(`ethereum value is not ${what} (kind ${this.kind})`);
    return this.data;
  }

  toAddress(): Address {
    return this.expect([EthKind.ADDRESS], "an address") as Address;
  }

  toBytes(): Bytes {
    return this.expect([EthKind.FIXED_BYTES, EthKind.BYTES], "bytes") as Bytes;
  }

  toBigInt(): BigInt {
    return this.expect([EthKind.INT, EthKind.UINT], "an int") as BigInt;
  }

  /** graph-ts: an int that does not fit i32 aborts. */
  toI32(): number {
    return this.toBigInt().toI32();
  }

  toBoolean(): boolean {
    return this.expect([EthKind.BOOL], "a bool") as boolean;
  }

  toString(): string {
    return this.expect([EthKind.STRING], "a string") as string;
  }

  toTuple(): EthTuple {
    return this.expect([EthKind.TUPLE], "a tuple") as EthTuple;
  }

  toArray(): EthValue[] {
    return this.expect([EthKind.ARRAY, EthKind.FIXED_ARRAY], "an array") as EthValue[];
  }

  toBigIntArray(): BigInt[] {
    return this.toArray().map((v) => v.toBigInt());
  }

  toAddressArray(): Address[] {
    return this.toArray().map((v) => v.toAddress());
  }

  toBytesArray(): Bytes[] {
    return this.toArray().map((v) => v.toBytes());
  }

  toStringArray(): string[] {
    return this.toArray().map((v) => v.toString());
  }

  toBooleanArray(): boolean[] {
    return this.toArray().map((v) => v.toBoolean());
  }

  static fromAddress(a: Address): EthValue {
    return new EthValue(EthKind.ADDRESS, a);
  }

  static fromBoolean(b: boolean): EthValue {
    return new EthValue(EthKind.BOOL, b);
  }

  static fromBytes(b: Bytes): EthValue {
    return new EthValue(EthKind.BYTES, b);
  }

  static fromFixedBytes(b: Bytes): EthValue {
    return new EthValue(EthKind.FIXED_BYTES, b);
  }

  static fromI32(x: number): EthValue {
    return new EthValue(EthKind.INT, BigInt.fromI32(x));
  }

  static fromSignedBigInt(x: BigInt): EthValue {
    return new EthValue(EthKind.INT, x);
  }

  static fromUnsignedBigInt(x: BigInt): EthValue {
    return new EthValue(EthKind.UINT, x);
  }

  static fromString(s: string): EthValue {
    return new EthValue(EthKind.STRING, s);
  }

  static fromArray(values: EthValue[]): EthValue {
    return new EthValue(EthKind.ARRAY, values);
  }

  static fromFixedSizedArray(values: EthValue[]): EthValue {
    return new EthValue(EthKind.FIXED_ARRAY, values);
  }

  static fromTuple(t: EthTuple): EthValue {
    return new EthValue(EthKind.TUPLE, t);
  }

  static fromUnsignedBigIntArray(xs: BigInt[]): EthValue {
    return EthValue.fromArray(xs.map((x) => EthValue.fromUnsignedBigInt(x)));
  }

  static fromAddressArray(xs: Address[]): EthValue {
    return EthValue.fromArray(xs.map((x) => EthValue.fromAddress(x)));
  }

  static fromFixedBytesArray(xs: Bytes[]): EthValue {
    return EthValue.fromArray(xs.map((x) => EthValue.fromFixedBytes(x)));
  }
}

/** ethereum.Tuple: an array of values; generated structs extend it and read `this[i]`. */
class EthTuple extends Array<EthValue> {}

class EventParam {
  name: string;
  value: EthValue;

  constructor(name: string, value: EthValue) {
    this.name = name;
    this.value = value;
  }
}

class EthBlock {
  hash: Bytes;
  parentHash: Bytes;
  unclesHash: Bytes;
  author: Address;
  stateRoot: Bytes;
  transactionsRoot: Bytes;
  receiptsRoot: Bytes;
  number: BigInt;
  gasUsed: BigInt;
  gasLimit: BigInt;
  timestamp: BigInt;
  difficulty: BigInt;
  totalDifficulty: BigInt;
  size: BigInt | null;
  baseFeePerGas: BigInt | null;

  constructor(
    hash: Bytes,
    parentHash: Bytes,
    unclesHash: Bytes,
    author: Address,
    stateRoot: Bytes,
    transactionsRoot: Bytes,
    receiptsRoot: Bytes,
    number: BigInt,
    gasUsed: BigInt,
    gasLimit: BigInt,
    timestamp: BigInt,
    difficulty: BigInt,
    totalDifficulty: BigInt,
    size: BigInt | null,
    baseFeePerGas: BigInt | null,
  ) {
    this.hash = hash;
    this.parentHash = parentHash;
    this.unclesHash = unclesHash;
    this.author = author;
    this.stateRoot = stateRoot;
    this.transactionsRoot = transactionsRoot;
    this.receiptsRoot = receiptsRoot;
    this.number = number;
    this.gasUsed = gasUsed;
    this.gasLimit = gasLimit;
    this.timestamp = timestamp;
    this.difficulty = difficulty;
    this.totalDifficulty = totalDifficulty;
    this.size = size;
    this.baseFeePerGas = baseFeePerGas;
  }
}

class EthTransaction {
  hash: Bytes;
  index: BigInt;
  from: Address;
  to: Address | null;
  value: BigInt;
  gasLimit: BigInt;
  gasPrice: BigInt;
  input: Bytes;
  nonce: BigInt;

  constructor(
    hash: Bytes,
    index: BigInt,
    from: Address,
    to: Address | null,
    value: BigInt,
    gasLimit: BigInt,
    gasPrice: BigInt,
    input: Bytes,
    nonce: BigInt,
  ) {
    this.hash = hash;
    this.index = index;
    this.from = from;
    this.to = to;
    this.value = value;
    this.gasLimit = gasLimit;
    this.gasPrice = gasPrice;
    this.input = input;
    this.nonce = nonce;
  }
}

/** ethereum.Event as graph-node builds it per log; handlers get it as their generated subclass. */
class EthEvent {
  address: Address;
  logIndex: BigInt;
  transactionLogIndex: BigInt;
  logType: string | null;
  block: EthBlock;
  transaction: EthTransaction;
  parameters: EventParam[];
  receipt: null;

  constructor(
    address: Address,
    logIndex: BigInt,
    transactionLogIndex: BigInt,
    logType: string | null,
    block: EthBlock,
    transaction: EthTransaction,
    parameters: EventParam[],
    receipt: null,
  ) {
    this.address = address;
    this.logIndex = logIndex;
    this.transactionLogIndex = transactionLogIndex;
    this.logType = logType;
    this.block = block;
    this.transaction = transaction;
    this.parameters = parameters;
    this.receipt = receipt;
  }
}

/** Contract bindings and calls: generated, never used by the mappings (no eth_call here). */
class SmartContract {
  _name: string;
  _address: Address;

  constructor(name: string, address: Address) {
    this._name = name;
    this._address = address;
  }

  call(): never {
    throw new Error("ethereum.call is not stood in: the mappings make no contract calls");
  }

  tryCall(): never {
    return this.call();
  }
}

class Call {}

class CallResult<T> {
  value: T | null;
  reverted: boolean;

  constructor(value: T | null, reverted: boolean) {
    this.value = value;
    this.reverted = reverted;
  }

  static fromValue<T>(value: T): CallResult<T> {
    return new CallResult(value, false);
  }

  static reverted<T>(): CallResult<T> {
    return new CallResult<T>(null, true);
  }
}

function word(x: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let v = x < 0n ? (1n << 256n) + x : x;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

/** graph-node's ethereum.encode host function, for the static types (what the mappings encode). */
function encode(v: EthValue): Bytes | null {
  switch (v.kind) {
    case EthKind.UINT:
    case EthKind.INT:
      return Bytes.fromUint8Array(word((v.data as BigInt).value));
    case EthKind.BOOL:
      return Bytes.fromUint8Array(word(v.data ? 1n : 0n));
    case EthKind.ADDRESS: {
      const out = new Bytes(32);
      out.set(v.data as Address, 12);
      return out;
    }
    case EthKind.FIXED_BYTES: {
      const out = new Bytes(32);
      out.set(v.data as Bytes);
      return out;
    }
    default:
      throw new Error(`ethereum.encode of kind ${v.kind} is not stood in`);
  }
}

export const ethereum = {
  ValueKind: EthKind,
  Value: EthValue,
  Tuple: EthTuple,
  EventParam,
  Block: EthBlock,
  Transaction: EthTransaction,
  Event: EthEvent,
  SmartContract,
  Call,
  CallResult,
  encode,
  decode(): never {
    throw new Error("ethereum.decode is not stood in: the mappings decode nothing");
  },
};
