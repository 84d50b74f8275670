import { test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Wallet, encryptKeystoreJson, decryptKeystoreJson } from "ethers";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  createKeystore,
  decryptKey,
  encryptKey,
  keystoreAddress,
  openKeystore,
  KeystoreError,
} from "../src/chain/keystore.ts";
import { loadSigner } from "../src/chain/setup.ts";
import { parseConfig } from "../src/config/load.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir();
after(() => tmp.cleanup());

test("a keystore written here opens with ethers, and one written by ethers opens here", async () => {
  const pk = generatePrivateKey();
  const ours = encryptKey(pk, "pw", { n: 1024 });
  const fromEthers = await decryptKeystoreJson(JSON.stringify(ours), "pw");
  assert.equal(fromEthers.privateKey, pk);
  const wallet = new Wallet(pk);
  const theirs = await encryptKeystoreJson({ address: wallet.address, privateKey: pk }, "pw2", { scrypt: { N: 1024 } });
  assert.equal(decryptKey(JSON.parse(theirs), "pw2"), pk);
});

test("a wrong password is refused with KEYSTORE_WRONG_PASSWORD", () => {
  const path = join(tmp.dir, "k.json");
  const account = createKeystore(path, "right", { n: 1024 });
  assert.equal(openKeystore(path, "right").address, account.address);
  assert.throws(
    () => openKeystore(path, "wrong"),
    (e: unknown) => e instanceof KeystoreError && e.code === "KEYSTORE_WRONG_PASSWORD",
  );
  assert.equal(
    privateKeyToAccount(decryptKey(encryptKey(generatePrivateKey(), "x", { n: 1024 }), "x")).address.length,
    42,
  );
});

test("a file that is not a keystore is refused with KEYSTORE_INVALID naming the file, what is missing, and what to do", () => {
  const notJson = join(tmp.dir, "not-json.json");
  writeFileSync(notJson, "{");
  assert.throws(() => openKeystore(notJson, "x"), {
    code: "KEYSTORE_INVALID",
    message: `keystore ${notJson} is not JSON: restore it from its backup`,
  });
  const other = join(tmp.dir, "other.json");
  writeFileSync(other, JSON.stringify({ version: 3, note: "not a keystore" }));
  assert.throws(() => openKeystore(other, "x"), {
    code: "KEYSTORE_INVALID",
    message: `keystore ${other} is not a v3 scrypt/aes-128-ctr keystore (missing or invalid: id, crypto): restore it from its backup`,
  });
  assert.throws(() => openKeystore(join(tmp.dir, "none.json"), "x"), { code: "KEYSTORE_MISSING" });
});

test("loadSigner takes a plain key from the environment on the local chain (31337) only, or with CARBONPROOF_ALLOW_PLAIN_KEY=1", () => {
  const pk = generatePrivateKey();
  const address = privateKeyToAccount(pk).address;
  const on = (chainId: number) =>
    parseConfig({ dataDir: join(tmp.dir, "plain"), chain: { chainId, keystore: { privateKeyEnv: "NODE_KEY" } } });
  assert.equal(loadSigner(on(31337), { NODE_KEY: pk }).address, address);
  assert.throws(
    () => loadSigner(on(1), { NODE_KEY: pk }),
    (e: unknown) =>
      e instanceof Error &&
      /a plain key in NODE_KEY is taken only on the local chain \(id 31337\), and chain\.chainId is 1: put the key in an encrypted keystore with `carbonproof-oracle keys create`/.test(
        e.message,
      ) &&
      !e.message.includes(pk.slice(2)),
  );
  assert.equal(loadSigner(on(1), { NODE_KEY: pk, CARBONPROOF_ALLOW_PLAIN_KEY: "1" }).address, address);
  assert.throws(
    () => loadSigner(on(1), { NODE_KEY: pk, CARBONPROOF_ALLOW_PLAIN_KEY: "yes" }),
    /only on the local chain/,
  );
});

test("loadSigner prefers the keystore on any chain, and keystoreAddress reads its address checksummed", () => {
  const path = join(tmp.dir, "node-keystore.json");
  const account = createKeystore(path, "pw", { n: 1024 });
  const cfg = parseConfig({ dataDir: tmp.dir, chain: { chainId: 1, keystore: { path } } });
  assert.equal(loadSigner(cfg, { CARBONPROOF_ORACLE_KEYSTORE_PASSWORD: "pw" }).address, account.address);
  assert.equal(keystoreAddress(path), account.address);
});
