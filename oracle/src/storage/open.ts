import { join, resolve } from "node:path";
import { PostgresStorage } from "./postgres.ts";
import { SqliteStorage } from "./sqlite.ts";
import type { SqlStorage } from "./sql-storage.ts";

/** Which database a connection opens: the node's SQLite file, or a PostgreSQL server. */
export type StorageSpec =
  { driver: "sqlite"; path: string; synchronous: "FULL" | "NORMAL" } | { driver: "postgres"; url: string };

/** The storage a config names (`storage.driver`): `<dataDir>/oracle.db`, or `storage.url`. */
export function storageSpec(cfg: {
  dataDir: string;
  storage: { driver: "sqlite" | "postgres"; synchronous: "FULL" | "NORMAL"; url?: string | undefined };
}): StorageSpec {
  if (cfg.storage.driver === "postgres") {
    if (!cfg.storage.url) throw new Error('storage.driver is "postgres" but storage.url is not set');
    return { driver: "postgres", url: cfg.storage.url };
  }
  return { driver: "sqlite", path: join(resolve(cfg.dataDir), "oracle.db"), synchronous: cfg.storage.synchronous };
}

/** Opens one connection to the storage `spec` names (its schema created or upgraded). */
export function openStorage(spec: StorageSpec, opts: { synchronous?: "FULL" | "NORMAL" } = {}): SqlStorage {
  return spec.driver === "postgres"
    ? new PostgresStorage(spec.url)
    : new SqliteStorage(spec.path, { synchronous: opts.synchronous ?? spec.synchronous });
}
