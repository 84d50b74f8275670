import { test, after } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { Wallet, encryptKeystoreJson, decryptKeystoreJson } from "ethers";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { createKeystore, decryptKey, encryptKey, openKeystore, KeystoreError } from "../src/chain/keystore.ts";
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
