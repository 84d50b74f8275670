import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { LOCAL_CHAIN_ID, type Config } from "../config/schema.ts";
import { openKeystore } from "./keystore.ts";

/** Default keystore location inside the data dir. */
export function keystorePath(config: Config): string {
  return resolve(config.chain.keystore.path ?? join(config.dataDir, "keystore.json"));
}

/** Set to `1` to take a plain key from the environment on another chain (a test network, at the operator's risk). */
export const ALLOW_PLAIN_KEY_ENV = "CARBONPROOF_ALLOW_PLAIN_KEY";

/**
 * The node's signing account: the encrypted keystore (password from the environment variable
 * named by `chain.keystore.passwordEnv`), or, for the local stack only (chain id 31337, or
 * {@link ALLOW_PLAIN_KEY_ENV}=1), a plain key from the variable named by
 * `chain.keystore.privateKeyEnv`. The key never reaches a log.
 */
export function loadSigner(config: Config, env: NodeJS.ProcessEnv = process.env): PrivateKeyAccount {
  const path = keystorePath(config);
  const plain = env[config.chain.keystore.privateKeyEnv];
  if (existsSync(path)) {
    const password = env[config.chain.keystore.passwordEnv];
    if (password === undefined) {
      throw new Error(
        `keystore ${path} needs its password in the environment variable ${config.chain.keystore.passwordEnv}`,
      );
    }
    return openKeystore(path, password);
  }
  if (plain) {
    if (config.chain.chainId !== LOCAL_CHAIN_ID && env[ALLOW_PLAIN_KEY_ENV] !== "1") {
      throw new Error(
        `a plain key in ${config.chain.keystore.privateKeyEnv} is taken only on the local chain (id ${LOCAL_CHAIN_ID}), and chain.chainId is ${config.chain.chainId}: put the key in an encrypted keystore with \`carbonproof-oracle keys create\` (or \`keys import\`, which reads ${config.chain.keystore.privateKeyEnv} once), then unset ${config.chain.keystore.privateKeyEnv}; ${ALLOW_PLAIN_KEY_ENV}=1 overrides this on a test network`,
      );
    }
    if (!/^0x[0-9a-fA-F]{64}$/.test(plain))
      throw new Error(`${config.chain.keystore.privateKeyEnv} is not a 0x-prefixed 32-byte hex key`);
    return privateKeyToAccount(plain as `0x${string}`);
  }
  throw new Error(
    `no signing key: create a keystore with \`carbonproof-oracle keys create\` (${path}) or, for the local stack only, set ${config.chain.keystore.privateKeyEnv}`,
  );
}
