import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import fs from "node:fs";
import { syncBuiltinESMExports } from "node:module";
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
  rotateKeystore,
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

test("rotateKeystore: the new key in place and the old one kept as .bak, both opening with the password, owner-only", () => {
  const dir = join(tmp.dir, "rotate-ok");
  const path = join(dir, "keystore.json");
  const old = createKeystore(path, "pw", { n: 1024 });
  const { account, archived } = rotateKeystore(path, "pw", { n: 1024, nowMs: 1_700_000_000_000 });
  assert.equal(archived, `${path}.1700000000000.bak`);
  assert.notEqual(account.address, old.address);
  assert.equal(openKeystore(path, "pw").address, account.address);
  assert.equal(openKeystore(archived!, "pw").address, old.address);
  for (const f of [path, archived!]) assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.deepEqual(readdirSync(dir).sort(), ["keystore.json", "keystore.json.1700000000000.bak"], "no temporary file");
});

test("rotateKeystore failing after the old key is kept (the rename of the new keystore fails): keystore.json is still the old key, and the error names the .bak and what to do", () => {
  const dir = join(tmp.dir, "rotate-fails");
  const path = join(dir, "keystore.json");
  const old = createKeystore(path, "pw", { n: 1024 });
  // stands for the rename failing on a real disk (an I/O error, a file system gone read-only
  // meanwhile), which cannot be caused here: rename(2) onto keystore.json answers EIO. The module
  // imports renameSync by name; syncBuiltinESMExports carries the patch to it
  const rename = fs.renameSync;
  fs.renameSync = (from, to) => {
    if (to === path) throw Object.assign(new Error("EIO: i/o error, rename"), { code: "EIO" });
    rename(from, to);
  };
  syncBuiltinESMExports();
  try {
    assert.throws(
      () => rotateKeystore(path, "pw", { n: 1024, nowMs: 1_700_000_000_000 }),
      (err: Error) => {
        assert.equal(
          err.message,
          `cannot put the new keystore in place of ${path} (EIO: i/o error, rename): ${path} still holds the old key, also kept as ${path}.1700000000000.bak; check the disk of ${dir} and run \`keys rotate\` again`,
        );
        return true;
      },
    );
  } finally {
    fs.renameSync = rename;
    syncBuiltinESMExports();
  }
  assert.equal(openKeystore(path, "pw").address, old.address);
  assert.equal(openKeystore(`${path}.1700000000000.bak`, "pw").address, old.address);
  assert.deepEqual(readdirSync(dir).sort(), ["keystore.json", "keystore.json.1700000000000.bak"], "no temporary file");
});

test("rotateKeystore on a full disk: nothing changes, no temporary file is left, the error says what to do; with room again it rotates", (t) => {
  // a real full disk: a small tmpfs, filled up (mounting needs root: CI runs as root)
  const dir = join(tmp.dir, "rotate-full");
  mkdirSync(dir);
  if (spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", dir]).status !== 0)
    return t.skip("mounting a small tmpfs needs root");
  try {
    const path = join(dir, "keystore.json");
    const old = createKeystore(path, "pw", { n: 1024 });
    const filler = join(dir, "filler");
    assert.throws(() => writeFileSync(filler, Buffer.alloc(1 << 20)), { code: "ENOSPC" });
    assert.throws(
      () => rotateKeystore(path, "pw", { n: 1024 }),
      (err: Error) => {
        assert.match(
          err.message,
          new RegExp(
            `^cannot write the new keystore beside ${path} \\(ENOSPC[^)]*\\): nothing changed, ${path} still holds the old key; free space on the disk of ${dir} and run \`keys rotate\` again$`,
          ),
        );
        return true;
      },
    );
    assert.equal(openKeystore(path, "pw").address, old.address);
    assert.deepEqual(readdirSync(dir).sort(), ["filler", "keystore.json"]);

    rmSync(filler);
    const { account, archived } = rotateKeystore(path, "pw", { n: 1024 });
    assert.equal(openKeystore(path, "pw").address, account.address);
    assert.equal(openKeystore(archived!, "pw").address, old.address);
  } finally {
    spawnSync("umount", ["-l", dir]);
  }
});
