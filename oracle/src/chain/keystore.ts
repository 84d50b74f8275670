import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scryptSync, timingSafeEqual } from "node:crypto";
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { dirname, resolve } from "node:path";
import { bytesToHex, getAddress, hexToBytes, keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { z } from "zod";
import { fsyncPath, keepAs } from "../storage/backup.ts";

/**
 * The node's secp256k1 signing key in an encrypted JSON keystore, Web3 Secret Storage v3
 * (scrypt + aes-128-ctr, keccak-256 MAC): the format of geth, ethers' `Wallet.encrypt`
 * and Foundry's `cast wallet`, so an operator can move the key between tools. Built on
 * node:crypto; the test suite opens a keystore written here with ethers and vice versa.
 */
const keystoreSchema = z.object({
  version: z.literal(3),
  id: z.string(),
  address: z.string().optional(),
  crypto: z.object({
    cipher: z.literal("aes-128-ctr"),
    ciphertext: z.string().regex(/^[0-9a-fA-F]+$/),
    cipherparams: z.object({ iv: z.string().regex(/^[0-9a-fA-F]{32}$/) }),
    kdf: z.literal("scrypt"),
    kdfparams: z.object({
      dklen: z.number().int(),
      n: z.number().int(),
      r: z.number().int(),
      p: z.number().int(),
      salt: z.string(),
    }),
    mac: z.string().regex(/^[0-9a-fA-F]{64}$/),
  }),
});
export type KeystoreJson = z.infer<typeof keystoreSchema>;

export class KeystoreError extends Error {
  readonly code: "KEYSTORE_INVALID" | "KEYSTORE_WRONG_PASSWORD" | "KEYSTORE_MISSING";
  constructor(code: KeystoreError["code"], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "KeystoreError";
  }
}

/** scrypt cost: 2^17 as geth's "standard" (about 0.5 s, 128 MiB); tests pass a lower n. */
export const DEFAULT_SCRYPT_N = 131_072;

function derive(password: string, p: KeystoreJson["crypto"]["kdfparams"]): Buffer {
  return scryptSync(Buffer.from(password.normalize("NFKC"), "utf8"), Buffer.from(p.salt, "hex"), p.dklen, {
    N: p.n,
    r: p.r,
    p: p.p,
    maxmem: 256 * p.n * p.r + 1024 * 1024,
  });
}

export function encryptKey(privateKey: `0x${string}`, password: string, opts: { n?: number } = {}): KeystoreJson {
  const kdfparams = { dklen: 32, n: opts.n ?? DEFAULT_SCRYPT_N, r: 8, p: 1, salt: randomBytes(32).toString("hex") };
  const dk = derive(password, kdfparams);
  const iv = randomBytes(16);
  const cipher = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()]);
  const mac = keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2);
  return {
    version: 3,
    id: randomUUID(),
    address: privateKeyToAccount(privateKey).address.slice(2).toLowerCase(),
    crypto: {
      cipher: "aes-128-ctr",
      ciphertext: ciphertext.toString("hex"),
      cipherparams: { iv: iv.toString("hex") },
      kdf: "scrypt",
      kdfparams,
      mac,
    },
  };
}

export function decryptKey(json: unknown, password: string): `0x${string}` {
  // geth and ethers write "Crypto", others "crypto"
  const o = json as Record<string, unknown> | null;
  const normalized =
    o && typeof o === "object" && !("crypto" in o) && "Crypto" in o ? { ...o, crypto: o.Crypto } : json;
  const parsed = keystoreSchema.safeParse(normalized);
  if (!parsed.success) {
    throw new KeystoreError(
      "KEYSTORE_INVALID",
      `not a v3 scrypt/aes-128-ctr keystore (missing or invalid: ${parsed.error.issues.map((i) => i.path.join(".")).join(", ")})`,
    );
  }
  const c = parsed.data.crypto;
  const dk = derive(password, c.kdfparams);
  const ciphertext = Buffer.from(c.ciphertext, "hex");
  const mac = Buffer.from(keccak256(Buffer.concat([dk.subarray(16, 32), ciphertext])).slice(2), "hex");
  if (!timingSafeEqual(mac, Buffer.from(c.mac, "hex"))) {
    throw new KeystoreError("KEYSTORE_WRONG_PASSWORD", "wrong keystore password (MAC mismatch)");
  }
  const decipher = createDecipheriv("aes-128-ctr", dk.subarray(0, 16), Buffer.from(c.cipherparams.iv, "hex"));
  return bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]));
}

/**
 * Writes a keystore atomically with owner-only permissions, on disk when it returns (the file and
 * its directory synced: the address is given to the OracleSet admin next, and a key lost to a
 * power cut after that is a node that can no longer sign).
 */
export function writeKeystore(path: string, json: KeystoreJson): void {
  makeDirDurably(dirname(path));
  const tmp = writeSyncedTemp(path, json);
  try {
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  fsyncPath(dirname(path));
}

/** `dir` made if missing, each directory made synced in its parent. */
function makeDirDurably(dir: string): void {
  dir = resolve(dir);
  const made = mkdirSync(dir, { recursive: true });
  if (made !== undefined)
    for (let d = dir; ; d = dirname(d)) {
      fsyncPath(dirname(d));
      if (d === made || dirname(d) === d) break;
    }
}

/** `json` under a temporary name beside `path`, owner-only and synced; its name. Nothing is left behind if that fails. */
function writeSyncedTemp(path: string, json: KeystoreJson): string {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, "w", 0o600);
    try {
      writeFileSync(fd, JSON.stringify(json, null, 2)); // all of it, or throws (ENOSPC)
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return tmp;
}

/** What to do about a write that failed with `err`. */
function remedy(err: unknown, dir: string): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "ENOSPC" || code === "EDQUOT") return `free space on the disk of ${dir}`;
  if (code === "EACCES" || code === "EPERM" || code === "EROFS") return `make ${dir} writable`;
  return `check the disk of ${dir}`;
}

/**
 * `keys rotate`: a new key in place of the keystore at `path`, the old keystore kept beside it as
 * `path.TIME.bak` (a hard link, or a synced copy where the file system has none). The new keystore
 * is written under a temporary name and synced first, the old one kept, and only then renamed
 * over `path` and the directory synced: at every moment `path` holds the old key or the new one,
 * and once it holds the new one, the old one is kept. On a failure before the rename, the
 * temporary file is removed and `path` is left as it was; the error says so, where the old key
 * is, and what to do. Without a keystore at `path`, it is created (`archived` null).
 */
export function rotateKeystore(
  path: string,
  password: string,
  opts: { n?: number; nowMs?: number } = {},
): { account: PrivateKeyAccount; archived: string | null } {
  const pk = generatePrivateKey();
  const json = encryptKey(pk, password, { n: opts.n });
  const account = privateKeyToAccount(pk);
  if (!existsSync(path)) {
    writeKeystore(path, json);
    return { account, archived: null };
  }
  const dir = dirname(path);
  const archived = `${path}.${opts.nowMs ?? Date.now()}.bak`;
  let tmp: string;
  try {
    tmp = writeSyncedTemp(path, json);
  } catch (err) {
    throw new Error(
      `cannot write the new keystore beside ${path} (${(err as Error).message}): nothing changed, ${path} still holds the old key; ${remedy(err, dir)} and run \`keys rotate\` again`,
      { cause: err },
    );
  }
  try {
    keepAs(path, archived);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(
      `cannot keep the old keystore as ${archived} (${(err as Error).message}): nothing changed, ${path} still holds the old key; ${remedy(err, dir)} and run \`keys rotate\` again`,
      { cause: err },
    );
  }
  try {
    fsyncPath(dir); // the old key's new name on disk before the new key takes its place
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw new Error(
      `cannot put the new keystore in place of ${path} (${(err as Error).message}): ${path} still holds the old key, also kept as ${archived}; ${remedy(err, dir)} and run \`keys rotate\` again`,
      { cause: err },
    );
  }
  try {
    fsyncPath(dir);
  } catch (err) {
    throw new Error(
      `${path} now holds the new key (${account.address}) and the old one is kept as ${archived}, but ${dir} could not be synced (${(err as Error).message}): a power cut could bring back the old keystore; check the disk, then check \`keys show\``,
      { cause: err },
    );
  }
  return { account, archived };
}

export function readKeystore(path: string): KeystoreJson {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new KeystoreError(
      "KEYSTORE_MISSING",
      `no keystore at ${path}: create one with \`carbonproof-oracle keys create\``,
      { cause },
    );
  }
  try {
    return JSON.parse(text) as KeystoreJson;
  } catch (cause) {
    throw new KeystoreError("KEYSTORE_INVALID", `keystore ${path} is not JSON: restore it from its backup`, { cause });
  }
}

export function createKeystore(
  path: string,
  password: string,
  opts: { privateKey?: `0x${string}`; n?: number } = {},
): PrivateKeyAccount {
  const pk = opts.privateKey ?? generatePrivateKey();
  writeKeystore(path, encryptKey(pk, password, { n: opts.n }));
  return privateKeyToAccount(pk);
}

export function openKeystore(path: string, password: string): PrivateKeyAccount {
  const json = readKeystore(path);
  try {
    return privateKeyToAccount(decryptKey(json, password));
  } catch (err) {
    if (err instanceof KeystoreError && err.code === "KEYSTORE_INVALID")
      throw new KeystoreError("KEYSTORE_INVALID", `keystore ${path} is ${err.message}: restore it from its backup`, {
        cause: err,
      });
    throw err;
  }
}

/** Address of a keystore without decrypting it (when the file records it), checksummed as the signer's. */
export function keystoreAddress(path: string): string | null {
  const a = readKeystore(path).address;
  if (!a) return null;
  try {
    return getAddress(a.startsWith("0x") ? a : `0x${a}`);
  } catch (cause) {
    throw new KeystoreError("KEYSTORE_INVALID", `keystore ${path} records an address that is not one ("${a}")`, {
      cause,
    });
  }
}
