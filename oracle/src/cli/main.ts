#!/usr/bin/env node
/**
 * `carbonproof-oracle` — run and operate an oracle node.
 *
 *   start  [--config FILE]                       run the node until SIGTERM/SIGINT
 *   import FILE.csv [--config FILE] [--json]     bulk-import signed readings, per-row report
 *   status [--config FILE]                       backlog, batches by state, dead letters
 *   keys create|import|show|rotate [--config FILE] [--private-key-env NAME]
 *   keys api-create --scope facility|device|admin|oracle --subject ID [--label L]
 *   keys api-list | keys api-revoke ID
 *
 * Config: a JSON file (--config or CARBONPROOF_ORACLE_CONFIG) plus CARBONPROOF_ORACLE__*
 * environment overrides, validated at start (docs/oracle.md).
 */
import { existsSync, readFileSync, renameSync } from "node:fs";
import module from "node:module";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.ts";
import type { SqliteStorage } from "../storage/sqlite.ts";
import type { SdkCalculator } from "../compute/sdk.ts";

// compiled-code cache: the node's module graph (helia, viem, fastify, the sdk) takes seconds to
// load on a busy 2-core machine; the cache cuts restarts, which recovery depends on
module.enableCompileCache?.();
const { pino } = await import("pino");
const { createCommon } = await import("../common.ts");
const { ConfigError, loadConfig } = await import("../config/load.ts");
const { SdkCalculator: Calculator } = await import("../compute/sdk.ts");
const { startNode } = await import("../node.ts");
const { SqliteStorage: Sqlite } = await import("../storage/sqlite.ts");
const { createApiKey } = await import("../api/keys.ts");
const { createKeystore, keystoreAddress, openKeystore } = await import("../chain/keystore.ts");
const { keystorePath } = await import("../chain/setup.ts");
const { importCsv } = await import("../ingest/csv.ts");

function usage(): never {
  process.stderr.write(`usage: carbonproof-oracle <start|import|status|keys> [options]
  start  [--config FILE]
  import FILE.csv [--config FILE] [--json]
  status [--config FILE]
  keys create|import|show|rotate [--config FILE] [--private-key-env NAME]
  keys api-create --scope facility|device|admin|oracle --subject ID [--label L]
  keys api-list | keys api-revoke ID
`);
  process.exit(2);
}

function config(file: string | undefined): Config {
  return loadConfig({ file: file ?? process.env.CARBONPROOF_ORACLE_CONFIG });
}

function openStorage(cfg: Config): SqliteStorage {
  return new Sqlite(join(resolve(cfg.dataDir), "oracle.db"), { synchronous: cfg.storage.synchronous });
}

function calculator(cfg: Config): SdkCalculator {
  return new Calculator({ facilities: cfg.facilities });
}

function password(cfg: Config): string {
  const p = process.env[cfg.chain.keystore.passwordEnv];
  if (!p) throw new Error(`set the keystore password in the environment variable ${cfg.chain.keystore.passwordEnv}`);
  return p;
}

async function start(cfg: Config): Promise<void> {
  const common = createCommon(cfg);
  const node = await startNode(common, { calculator: calculator(cfg) });
  common.logger.info(
    { http: node.httpUrl, mqtt: node.mqtt?.url ?? null, dataDir: resolve(cfg.dataDir), chain: cfg.chain.enabled },
    "oracle node started",
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    common.logger.info({ signal }, "stopping: intake closed, flushing, closing");
    node.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        common.logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

async function keys(
  sub: string | undefined,
  cfg: Config,
  values: Record<string, string | boolean | undefined>,
  rest: string[],
) {
  const path = keystorePath(cfg);
  switch (sub) {
    case "create": {
      if (existsSync(path)) throw new Error(`${path} exists; use \`keys rotate\` to replace it`);
      const account = createKeystore(path, password(cfg));
      console.log(JSON.stringify({ keystore: path, address: account.address }));
      return;
    }
    case "import": {
      const envName = (values["private-key-env"] as string | undefined) ?? cfg.chain.keystore.privateKeyEnv;
      const pk = process.env[envName];
      if (!pk || !/^0x[0-9a-fA-F]{64}$/.test(pk))
        throw new Error(`put the 0x-prefixed private key in the environment variable ${envName}`);
      if (existsSync(path)) throw new Error(`${path} exists; use \`keys rotate\` to replace it`);
      const account = createKeystore(path, password(cfg), { privateKey: pk as `0x${string}` });
      console.log(JSON.stringify({ keystore: path, address: account.address }));
      return;
    }
    case "show": {
      const address = keystoreAddress(path) ?? openKeystore(path, password(cfg)).address;
      console.log(JSON.stringify({ keystore: path, address }));
      return;
    }
    case "rotate": {
      const old = existsSync(path) ? openKeystore(path, password(cfg)).address : null;
      if (existsSync(path)) renameSync(path, `${path}.${Date.now()}.bak`);
      const account = createKeystore(path, password(cfg));
      console.log(
        JSON.stringify({
          keystore: path,
          previous: old,
          address: account.address,
          next: "ask the OracleSet admin to addNode(new) and removeNode(previous); batches signed but not submitted are re-signed after a restart only if you reset them",
        }),
      );
      return;
    }
    case "api-create": {
      const scope = values.scope as "facility" | "device" | "admin" | "oracle" | undefined;
      const subject = values.subject as string | undefined;
      if (!scope || !["facility", "device", "admin", "oracle"].includes(scope) || !subject) usage();
      const storage = openStorage(cfg);
      try {
        console.log(
          JSON.stringify(createApiKey(storage, { scope, subject, label: values.label as string | undefined })),
        );
      } finally {
        storage.close();
      }
      return;
    }
    case "api-list": {
      const storage = openStorage(cfg);
      try {
        for (const k of storage.listApiKeys()) console.log(JSON.stringify({ ...k, hash: undefined }));
      } finally {
        storage.close();
      }
      return;
    }
    case "api-revoke": {
      const storage = openStorage(cfg);
      try {
        console.log(JSON.stringify({ revoked: storage.revokeApiKey(Number(rest[0]), Date.now()) }));
      } finally {
        storage.close();
      }
      return;
    }
    default:
      usage();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      config: { type: "string", short: "c" },
      json: { type: "boolean" },
      scope: { type: "string" },
      subject: { type: "string" },
      label: { type: "string" },
      "private-key-env": { type: "string" },
    },
  });
  const [cmd, ...rest] = positionals;
  if (!cmd) usage();
  const cfg = config(values.config);
  switch (cmd) {
    case "start":
      return start(cfg);
    case "status": {
      const storage = openStorage(cfg);
      try {
        const out = {
          node: cfg.nodeName,
          backlog: storage.backlog(),
          batches: storage.batchStateCounts(),
          deadLetters: storage.countDeadLetters(),
          failed: storage
            .listBatches({ states: ["failed"], limit: 20 })
            .map((b) => ({ id: b.id, facility: b.facilityId, error: b.error })),
        };
        console.log(JSON.stringify(out, null, 2));
      } finally {
        storage.close();
      }
      return;
    }
    case "import": {
      const file = rest[0];
      if (!file) usage();
      const logger = pino({ level: "warn" });
      const report = await importCsv({
        config: cfg,
        logger,
        calculator: calculator(cfg),
        csv: readFileSync(file, "utf8"),
      });
      if (values.json) console.log(JSON.stringify(report));
      else {
        for (const r of report.rows) {
          console.log(
            `row ${r.row}: ${r.status}${r.status === "stored" ? ` ${r.digest}` : ` ${r.reason}: ${r.detail}`}`,
          );
        }
        console.log(`${report.stored} stored, ${report.rejected} rejected of ${report.rows.length} rows`);
      }
      process.exitCode = report.rejected > 0 ? 1 : 0;
      return;
    }
    case "keys":
      return keys(rest[0], cfg, values, rest.slice(1));
    default:
      usage();
  }
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
  else process.stderr.write(`carbonproof-oracle: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
