/**
 * SHA-256 specialised for the two fixed message lengths of the Merkle tree:
 * 33 bytes (leaf: 0x00 ‖ digest, one block) and 65 bytes (node: 0x01 ‖ a ‖ b, two
 * blocks). Pure JS over Int32Array, no allocation per hash: a million-leaf tree is
 * about three million compressions, and the generic hashers spend more time on
 * buffers and objects than on the compression itself. Works in browsers.
 *
 * Checked against @noble/hashes (sha256.test.ts) for random inputs.
 */

const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98,
  0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
  0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8,
  0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
  0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819,
  0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
  0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
  0xc67178f2,
]);
const IV = new Int32Array([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);
const H = new Int32Array(8);

// Eight rounds per iteration with the working variables renamed instead of shifted
// (the usual unrolling of SHA-256; each round is FIPS 180-4 §6.2.2 step 3).
function compress(): void {
  let a = H[0]!,
    b = H[1]!,
    c = H[2]!,
    d = H[3]!,
    e = H[4]!,
    f = H[5]!,
    g = H[6]!,
    h = H[7]!;
  let w = 0,
    t1 = 0;
  for (let t = 0; t < 64; t += 8) {
    // round t + 0
    if (t < 16) w = W[t + 0]!;
    else {
      const x = W[t + -15]!,
        y = W[t + -2]!;
      w =
        (W[t + -16]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -7]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 0] = w;
    }
    t1 =
      (h +
        (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) +
        ((e & f) ^ (~e & g)) +
        K[t + 0]! +
        w) |
      0;
    d = (d + t1) | 0;
    h =
      (t1 +
        (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) +
        ((a & b) ^ (a & c) ^ (b & c))) |
      0;
    // round t + 1
    if (t < 16) w = W[t + 1]!;
    else {
      const x = W[t + -14]!,
        y = W[t + -1]!;
      w =
        (W[t + -15]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -6]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 1] = w;
    }
    t1 =
      (g +
        (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) +
        ((d & e) ^ (~d & f)) +
        K[t + 1]! +
        w) |
      0;
    c = (c + t1) | 0;
    g =
      (t1 +
        (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) +
        ((h & a) ^ (h & b) ^ (a & b))) |
      0;
    // round t + 2
    if (t < 16) w = W[t + 2]!;
    else {
      const x = W[t + -13]!,
        y = W[t + 0]!;
      w =
        (W[t + -14]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -5]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 2] = w;
    }
    t1 =
      (f +
        (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) +
        ((c & d) ^ (~c & e)) +
        K[t + 2]! +
        w) |
      0;
    b = (b + t1) | 0;
    f =
      (t1 +
        (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) +
        ((g & h) ^ (g & a) ^ (h & a))) |
      0;
    // round t + 3
    if (t < 16) w = W[t + 3]!;
    else {
      const x = W[t + -12]!,
        y = W[t + 1]!;
      w =
        (W[t + -13]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -4]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 3] = w;
    }
    t1 =
      (e +
        (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) +
        ((b & c) ^ (~b & d)) +
        K[t + 3]! +
        w) |
      0;
    a = (a + t1) | 0;
    e =
      (t1 +
        (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) +
        ((f & g) ^ (f & h) ^ (g & h))) |
      0;
    // round t + 4
    if (t < 16) w = W[t + 4]!;
    else {
      const x = W[t + -11]!,
        y = W[t + 2]!;
      w =
        (W[t + -12]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -3]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 4] = w;
    }
    t1 =
      (d +
        (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) +
        ((a & b) ^ (~a & c)) +
        K[t + 4]! +
        w) |
      0;
    h = (h + t1) | 0;
    d =
      (t1 +
        (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) +
        ((e & f) ^ (e & g) ^ (f & g))) |
      0;
    // round t + 5
    if (t < 16) w = W[t + 5]!;
    else {
      const x = W[t + -10]!,
        y = W[t + 3]!;
      w =
        (W[t + -11]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -2]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 5] = w;
    }
    t1 =
      (c +
        (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) +
        ((h & a) ^ (~h & b)) +
        K[t + 5]! +
        w) |
      0;
    g = (g + t1) | 0;
    c =
      (t1 +
        (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) +
        ((d & e) ^ (d & f) ^ (e & f))) |
      0;
    // round t + 6
    if (t < 16) w = W[t + 6]!;
    else {
      const x = W[t + -9]!,
        y = W[t + 4]!;
      w =
        (W[t + -10]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + -1]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 6] = w;
    }
    t1 =
      (b +
        (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) +
        ((g & h) ^ (~g & a)) +
        K[t + 6]! +
        w) |
      0;
    f = (f + t1) | 0;
    b =
      (t1 +
        (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) +
        ((c & d) ^ (c & e) ^ (d & e))) |
      0;
    // round t + 7
    if (t < 16) w = W[t + 7]!;
    else {
      const x = W[t + -8]!,
        y = W[t + 5]!;
      w =
        (W[t + -9]! +
          (((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3)) +
          W[t + 0]! +
          (((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10))) |
        0;
      W[t + 7] = w;
    }
    t1 =
      (a +
        (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) +
        ((f & g) ^ (~f & h)) +
        K[t + 7]! +
        w) |
      0;
    e = (e + t1) | 0;
    a =
      (t1 +
        (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) +
        ((b & c) ^ (b & d) ^ (c & d))) |
      0;
  }
  H[0] = (H[0]! + a) | 0;
  H[1] = (H[1]! + b) | 0;
  H[2] = (H[2]! + c) | 0;
  H[3] = (H[3]! + d) | 0;
  H[4] = (H[4]! + e) | 0;
  H[5] = (H[5]! + f) | 0;
  H[6] = (H[6]! + g) | 0;
  H[7] = (H[7]! + h) | 0;
}

function readWord(src: Uint8Array, o: number): number {
  return (src[o]! << 24) | (src[o + 1]! << 16) | (src[o + 2]! << 8) | src[o + 3]!;
}

function writeState(out: Uint8Array, o: number): void {
  for (let i = 0; i < 8; i++) {
    const v = H[i]!;
    out[o + 4 * i] = v >>> 24;
    out[o + 4 * i + 1] = (v >>> 16) & 0xff;
    out[o + 4 * i + 2] = (v >>> 8) & 0xff;
    out[o + 4 * i + 3] = v & 0xff;
  }
}

/** out[oo..oo+32) = SHA-256(prefix ‖ src[so..so+32)). One block: 33 bytes + padding. */
export function sha256Prefixed32(prefix: number, src: Uint8Array, so: number, out: Uint8Array, oo: number): void {
  H.set(IV);
  // message bytes m[0] = prefix, m[1..33) = src; m[33] = 0x80; length 264 bits in the last word.
  W[0] = (prefix << 24) | (src[so]! << 16) | (src[so + 1]! << 8) | src[so + 2]!;
  for (let i = 1; i < 8; i++) W[i] = readWord(src, so + 4 * i - 1);
  W[8] = (src[so + 31]! << 24) | 0x00800000;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = 33 * 8;
  compress();
  writeState(out, oo);
}

/**
 * out[oo..oo+32) = SHA-256(prefix ‖ x ‖ y) with x = a[ao..ao+32), y = b[bo..bo+32).
 * 65 bytes: two blocks.
 */
export function sha256Prefixed64(
  prefix: number,
  a: Uint8Array,
  ao: number,
  b: Uint8Array,
  bo: number,
  out: Uint8Array,
  oo: number,
): void {
  H.set(IV);
  // block 1: m[0] = prefix, m[1..33) = x, m[33..64) = y[0..31)
  W[0] = (prefix << 24) | (a[ao]! << 16) | (a[ao + 1]! << 8) | a[ao + 2]!;
  for (let i = 1; i < 8; i++) W[i] = readWord(a, ao + 4 * i - 1);
  W[8] = (a[ao + 31]! << 24) | (b[bo]! << 16) | (b[bo + 1]! << 8) | b[bo + 2]!;
  for (let i = 9; i < 16; i++) W[i] = readWord(b, bo + 4 * (i - 8) - 1);
  compress();
  // block 2: m[64] = y[31], 0x80, zeros, length 520 bits.
  W[0] = (b[bo + 31]! << 24) | 0x00800000;
  for (let i = 1; i < 15; i++) W[i] = 0;
  W[15] = 65 * 8;
  compress();
  writeState(out, oo);
}

/*
 * Word-level variants for the tree builder: nodes are kept as big-endian 32-bit words
 * in an Int32Array (8 words per node), so the hot loop never touches single bytes.
 */

function writeStateWords(out: Int32Array, oo: number): void {
  out[oo] = H[0]!;
  out[oo + 1] = H[1]!;
  out[oo + 2] = H[2]!;
  out[oo + 3] = H[3]!;
  out[oo + 4] = H[4]!;
  out[oo + 5] = H[5]!;
  out[oo + 6] = H[6]!;
  out[oo + 7] = H[7]!;
}

/** out[oo..oo+8) = SHA-256(prefix ‖ x) with x = the 8 words src[so..so+8). */
export function sha256Prefixed32Words(prefix: number, src: Int32Array, so: number, out: Int32Array, oo: number): void {
  H.set(IV);
  let prev = src[so]!;
  W[0] = (prefix << 24) | (prev >>> 8);
  for (let i = 1; i < 8; i++) {
    const w = src[so + i]!;
    W[i] = (prev << 24) | (w >>> 8);
    prev = w;
  }
  W[8] = (prev << 24) | 0x00800000;
  for (let i = 9; i < 15; i++) W[i] = 0;
  W[15] = 33 * 8;
  compress();
  writeStateWords(out, oo);
}

/** out[oo..oo+8) = SHA-256(prefix ‖ x ‖ y), x = a[ao..ao+8), y = b[bo..bo+8) (words). */
export function sha256Prefixed64Words(
  prefix: number,
  a: Int32Array,
  ao: number,
  b: Int32Array,
  bo: number,
  out: Int32Array,
  oo: number,
): void {
  H.set(IV);
  let prev = a[ao]!;
  W[0] = (prefix << 24) | (prev >>> 8);
  for (let i = 1; i < 8; i++) {
    const w = a[ao + i]!;
    W[i] = (prev << 24) | (w >>> 8);
    prev = w;
  }
  for (let i = 0; i < 8; i++) {
    const w = b[bo + i]!;
    W[8 + i] = (prev << 24) | (w >>> 8);
    prev = w;
  }
  compress();
  W[0] = (prev << 24) | 0x00800000;
  for (let i = 1; i < 15; i++) W[i] = 0;
  W[15] = 65 * 8;
  compress();
  writeStateWords(out, oo);
}
