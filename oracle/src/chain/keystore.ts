import { createCipheriv, createDecipheriv, randomBytes, randomUUID, scryptSync, timingSafeEqual } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { bytesToHex, getAddress, hexToBytes, keccak256 } from "viem";
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { z } from "zod";

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

/** Writes a keystore atomically with owner-only permissions. */
export function writeKeystore(path: string, json: KeystoreJson): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(json, null, 2), { mode: 0o600 });
  renameSync(tmp, path);
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
