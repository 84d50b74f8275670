/**
 * The graph-ts stand-in (support/graph-ts.ts) fails where graph-node fails, and hooks.ts runs the
 * AssemblyScript that type stripping cannot: otherwise a mapping test passing under node would say
 * nothing of the subgraph.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { register } from "node:module";

register("./support/hooks.ts", import.meta.url);
const { __host, BigInt, Bytes, Address, Entity, Value, store, ethereum } = await import("./support/graph-ts.ts");

const SCHEMA = `
type Thing @entity(immutable: false) { id: Bytes! count: Int! total: BigInt! note: String owner: Owner }
type Owner @entity(immutable: true) { id: String! name: String! }
`;

function thing(id: string, fields: Record<string, InstanceType<typeof Value>>) {
  const e = new Entity();
  e.set("id", Value.fromBytes(Bytes.fromHexString(id)));
  for (const [k, v] of Object.entries(fields)) e.set(k, v);
  return e;
}

test("store.set refuses an entity without a non-null field, with a value of another type, or an unknown field", () => {
  __host.reset(SCHEMA);
  store.set("Thing", "0x01", thing("0x01", { count: Value.fromI32(1), total: Value.fromBigInt(BigInt.fromI32(5)) }));
  assert.throws(
    () => store.set("Thing", "0x02", thing("0x02", { count: Value.fromI32(1) })),
    /missing value for non-nullable field `total`/,
  );
  assert.throws(
    () =>
      store.set(
        "Thing",
        "0x03",
        thing("0x03", { count: Value.fromString("1"), total: Value.fromBigInt(BigInt.zero()) }),
      ),
    /field `count` is STRING/,
  );
  assert.throws(
    () =>
      store.set(
        "Thing",
        "0x04",
        thing("0x04", {
          count: Value.fromI32(1),
          total: Value.fromBigInt(BigInt.zero()),
          colour: Value.fromString(""),
        }),
      ),
    /unknown field `colour`/,
  );
  // a reference is stored as the referenced entity's id: a String id here
  assert.throws(
    () =>
      store.set(
        "Thing",
        "0x05",
        thing("0x05", {
          count: Value.fromI32(1),
          total: Value.fromBigInt(BigInt.zero()),
          owner: Value.fromBytes(Bytes.fromHexString("0x01")),
        }),
      ),
    /field `owner` is BYTES/,
  );
});

test("store.set merges into the stored entity, and store.get returns a copy", () => {
  __host.reset(SCHEMA);
  store.set(
    "Thing",
    "0x01",
    thing("0x01", { count: Value.fromI32(1), total: Value.fromBigInt(BigInt.zero()), note: Value.fromString("a") }),
  );
  store.set("Thing", "0x01", thing("0x01", { count: Value.fromI32(2) }));
  const loaded = store.get("Thing", "0x01")!;
  assert.equal(loaded.get("count")!.toI32(), 2);
  assert.equal(loaded.get("note")!.toString(), "a");
  loaded.set("count", Value.fromI32(9));
  assert.equal(store.get("Thing", "0x01")!.get("count")!.toI32(), 2, "unsaved changes stay out of the store");
  assert.equal(store.get("Thing", "0x09"), null);
});

test("an immutable entity can be changed in its own block only", () => {
  __host.reset(SCHEMA);
  const owner = (name: string) => {
    const e = new Entity();
    e.set("id", Value.fromString("o"));
    e.set("name", Value.fromString(name));
    return e;
  };
  __host.setBlock(7n);
  store.set("Owner", "o", owner("a"));
  store.set("Owner", "o", owner("b"));
  __host.setBlock(8n);
  assert.throws(() => store.set("Owner", "o", owner("c")), /can not be updated since they are immutable/);
  assert.throws(() => store.remove("Owner", "o"), /can not be deleted since they are immutable/);
});

test("values read as another kind, and integers out of i32, abort as in graph-ts", () => {
  assert.throws(() => Value.fromString("x").toBytes(), /not a byte array/);
  assert.throws(() => Value.fromI32(2 ** 31), /not an i32/);
  assert.throws(() => new BigInt(2n ** 31n).toI32(), /does not fit i32/);
  assert.throws(() => ethereum.Value.fromString("x").toBigInt(), /not an int/);
  assert.throws(() => BigInt.fromI32(1).div(BigInt.zero()), /division by zero/);
});

test("Bytes.concatI32 appends the i32 little-endian, as graph-ts's ByteArray.fromI32", () => {
  assert.equal(Bytes.fromHexString("0xab").concatI32(2).toHexString(), "0xab02000000");
  assert.equal(Bytes.fromHexString("0x").concatI32(-1).toHexString(), "0xffffffff");
  assert.equal(
    Address.fromString("0x00000000000000000000000000000000000005E7").toHexString(),
    `0x${"00".repeat(18)}05e7`,
  );
});

test("ethereum.encode writes one ABI word, as graph-node's host function", () => {
  const word = ethereum.encode(ethereum.Value.fromUnsignedBigInt(BigInt.fromI32(258)))!;
  assert.equal(word.toHexString(), `0x${"00".repeat(30)}0102`);
  const address = ethereum.encode(ethereum.Value.fromAddress(Address.fromString(`0x${"11".repeat(20)}`)))!;
  assert.equal(address.toHexString(), `0x${"00".repeat(12)}${"11".repeat(20)}`);
});

test("hooks.ts runs changetype<T>, reference casts and numeric casts (wrapping as wasm does)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "cp-graph-ts-"));
  try {
    writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
    const file = join(dir, "src", "mappings", "casts.ts");
    mkdirSync(join(dir, "src", "mappings"), { recursive: true });
    writeFileSync(
      file,
      [
        'import { Entity } from "@graphprotocol/graph-ts";',
        'export class Named extends Entity { hello(): string { return "named"; } }',
        "export function asNamed(e: Entity | null): Named | null { return changetype<Named | null>(e); }",
        "export function wrap(x: i64): i32 { return <i32>x; }",
        'export function same(x: string | null): string { return (<string>x) + "!"; }',
      ].join("\n"),
    );
    const m = (await import(pathToFileURL(file).href)) as {
      asNamed: (e: unknown) => { hello(): string } | null;
      wrap: (x: number) => number;
      same: (x: string) => string;
    };
    assert.equal(m.asNamed(new Entity())!.hello(), "named");
    assert.equal(m.asNamed(null), null);
    assert.equal(m.wrap(2 ** 32 + 5), 5);
    assert.equal(m.wrap(2 ** 31), -(2 ** 31));
    assert.equal(m.same("a"), "a!");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("an arithmetic or comparison operator on a BigInt fails, where AssemblyScript would overload it", () => {
  const a = BigInt.fromI32(2);
  const b = BigInt.fromI32(3);
  assert.throws(() => (a as unknown as number) + (b as unknown as number), /operator on graph-ts BigInt/);
  assert.throws(() => (a as unknown as number) < (b as unknown as number), /operator on graph-ts BigInt/);
  assert.equal(`${a}`, "2");
});
