/**
 * The part of `@graphprotocol/graph-ts` that src/logic uses, for node. It stands in for graph-ts's
 * BigInt (host-backed arbitrary precision in graph-node) with the same method names and the same
 * integer semantics (division and shifts floor, as graph-node's BigInt does for non-negatives), so
 * node runs the very files that are compiled into the subgraph's wasm. Loaded through
 * register.ts, which redirects the package specifier here for tests only.
 */
export class BigInt {
  readonly value: bigint;

  constructor(value: bigint) {
    this.value = value;
  }

  static fromI32(x: number): BigInt {
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
    return new BigInt(this.value / o.value);
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
    if (this.value < -(2n ** 31n) || this.value >= 2n ** 31n) throw new RangeError(`${this.value} does not fit i32`);
    return Number(this.value);
  }

  toString(): string {
    return this.value.toString();
  }
}

/** graph-ts Bytes: a Uint8Array with hex helpers. */
export class Bytes extends Uint8Array {
  static fromHexString(hex: string): Bytes {
    const clean = hex.startsWith("0x") ? hex.slice(2) : hex;
    const out = new Bytes(clean.length / 2);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(2 * i, 2 * i + 2), 16);
    return out;
  }

  toHexString(): string {
    return `0x${Buffer.from(this).toString("hex")}`;
  }
}
