#!/usr/bin/env node
/**
 * `carbonproof-oracle` — run and operate an oracle node.
 *
 *   start, import, status, retry, abandon, backup, restore, pin, copy-from-sqlite,
 *   keys create|import|show|rotate|api-create|api-list|api-revoke, cosigned list|release:
 *   `carbonproof-oracle --help` lists every command and option (COMMANDS below).
 *   Exit codes: 0 done, 1 failed, 2 bad command line or config, 130/143 import or a second
 *   signal at shutdown stopped by SIGINT/SIGTERM.
 *
 * Config: a JSON file (--config or CARBONPROOF_ORACLE_CONFIG) plus CARBONPROOF_ORACLE__*
 * environment overrides, validated at start (docs/oracle.md).
 */
import "../../../sdk/src/quiet-sqlite-warning.ts";
import { accessSync, constants as fsConstants, existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import module from "node:module";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import type { Config } from "../config/schema.ts";
import type { SqlStorage } from "../storage/sql-storage.ts";
import type { OperatorResult } from "../batch/operator.ts";
import type { ImportCounts } from "../ingest/csv.ts";
import { apiKeyFieldsProblem } from "../api/keys.ts";
import { describeHolder, lockDataDir, processAlive } from "../pid.ts";

// compiled-code cache: the node's module graph (helia, viem, fastify, the sdk) takes seconds to
// load on a busy 2-core machine; the cache cuts restarts, which recovery depends on
module.enableCompileCache?.();
// Each command imports only what it uses, when it runs: `--help` and a command line that does not
// parse answer before any of that graph is loaded (~0.1 s instead of ~2 s), and `keys` and `status`
// never load the node (helia, fastify, the MQTT endpoint).

/** A command line that does not parse: what was wrong, then the command's usage line; exit 2. */
class UsageError extends Error {
  readonly code = "CLI_USAGE";
  /** The command whose usage line goes with the message (`keys rotate`, `keys`), or null for the CLI's. */
  readonly command: string | null;
  constructor(message: string, command: string | null) {
    super(message);
    this.name = "UsageError";
    this.command = command;
  }
}

const SHUTDOWN_TIMEOUT_ENV = "CARBONPROOF_ORACLE_SHUTDOWN_TIMEOUT_S";
const DEFAULT_SHUTDOWN_TIMEOUT_S = 30;

type OptionName =
  | "config"
  | "json"
  | "all"
  | "scope"
  | "subject"
  | "label"
  | "private-key-env"
  | "shutdown-timeout"
  | "dry-run"
  | "force"
  | "content"
  | "facility"
  | "registry"
  | "yes"
  | "help";

/** Every command: its usage line, what it does, the options it takes. */
const COMMANDS: Record<string, { usage: string; about: string; options: OptionName[] }> = {
  start: {
    usage: "start [--config FILE] [--shutdown-timeout SECONDS]",
    about: "run the node until SIGTERM/SIGINT; a second signal exits at once",
    options: ["config", "shutdown-timeout"],
  },
  import: {
    usage: "import FILE.csv|- [--config FILE] [--json]",
    about:
      "bulk-import signed readings (- reads stdin), one report line per row (exit 1 when a row is rejected or the import stopped); Ctrl-C or SIGTERM stops it after the rows in hand, the report closed; run again after a stop, rows stored before are reported as already stored",
    options: ["config", "json"],
  },
  status: {
    usage: "status [--config FILE]",
    about:
      "backlog, batches by state, dead letters, failed batches: those holding back later ones (holdsLater) first, then the newest others; abandoned ones only counted (failedNotListed)",
    options: ["config"],
  },
  retry: {
    usage: "retry BATCH_ID... | --all [--config FILE]",
    about:
      "send failed batches again once the cause is fixed (a paused registry, a node key not in the OracleSet); a regular batch takes its failed corrections along; works while the node runs (as POST /v1/admin/batches/ID/retry)",
    options: ["config", "all"],
  },
  abandon: {
    usage: "abandon BATCH_ID [--config FILE]",
    about:
      "give up on a failed batch: it stays failed with its readings unattested, abandonedAt set, and no longer holds back its facility's later batches (as POST /v1/admin/batches/ID/abandon)",
    options: ["config"],
  },
  "copy-from-sqlite": {
    usage: "copy-from-sqlite FILE.db [--dry-run] [--config FILE]",
    about:
      "copy a node's SQLite database (dataDir/oracle.db) into the configured PostgreSQL database (storage.driver postgres), which must be empty: one transaction, every id kept, rows checked by count and SHA-256 before it commits; the node stopped",
    options: ["config", "dry-run"],
  },
  backup: {
    usage: "backup FILE.db [--content DIR] [--force] [--config FILE]",
    about:
      "a consistent copy of the node's SQLite database while the node runs (or not): written beside FILE.db, synced, checked by SQLite's quick_check, then put in place; prints what it holds",
    options: ["config", "content", "force"],
  },
  restore: {
    usage: "restore FILE.db [--content DIR] [--config FILE]",
    about:
      "put a backup back as dataDir/oracle.db, the node stopped (dataDir made if missing: a fresh host); the database it replaces is checkpointed and kept beside it (oracle.db.replaced-TIME); readings accepted after the backup was made are not in it",
    options: ["config", "content"],
  },
  pin: {
    usage: "pin FILE|DIR... [--config FILE]",
    about:
      "put files into the node's IPFS store, pinned, and print their CIDs: a bundle or evidence file recovered from another copy (another node, an auditor, a `backup --content` DIR, whose files must be the blocks they are named by); the embedded store with the node stopped. Then `retry` a batch that failed for want of it",
    options: ["config"],
  },
  "keys create": {
    usage: "keys create [--config FILE]",
    about: "new node key in an encrypted keystore (password from $CARBONPROOF_ORACLE_KEYSTORE_PASSWORD)",
    options: ["config"],
  },
  "keys import": {
    usage: "keys import [--config FILE] [--private-key-env NAME]",
    about: "encrypt the 0x key held by the environment variable NAME (default CARBONPROOF_ORACLE_PRIVATE_KEY)",
    options: ["config", "private-key-env"],
  },
  "keys show": { usage: "keys show [--config FILE]", about: "the node key's address", options: ["config"] },
  "keys rotate": {
    usage: "keys rotate [--config FILE]",
    about:
      "new node key, the old keystore kept as .bak; batches signed with the old key go back to pinned (node stopped)",
    options: ["config"],
  },
  "keys api-create": {
    usage: "keys api-create --scope facility|device|admin|oracle --subject ID [--label TEXT] [--config FILE]",
    about: "issue an API key (printed once)",
    options: ["config", "scope", "subject", "label"],
  },
  "keys api-list": {
    usage: "keys api-list [--config FILE]",
    about: "API keys, without their secrets",
    options: ["config"],
  },
  "keys api-revoke": {
    usage: "keys api-revoke ID [--config FILE]",
    about: "revoke the API key with the numeric ID that api-list shows",
    options: ["config"],
  },
  "cosigned list": {
    usage: "cosigned list [--facility ID] [--json] [--config FILE]",
    about:
      "the headers this node co-signed for other oracle nodes (each makes it refuse another header for its facility and period on the same registry): facility, period (unix s), attestation id, what it corrects, bundle CID, when signed, the registry (and chain) it was signed for",
    options: ["config", "facility", "json"],
  },
  "cosigned release": {
    usage: "cosigned release FACILITY PERIOD... [--registry ADDRESS[@CHAINID]|all] [--yes] [--force] [--config FILE]",
    about:
      "forget co-sign records whose header will never be attested (the lead node rebuilt the batch), so that this node co-signs the new header: PERIOD is its start, or START..END, as `cosigned list` shows it; the records that block headers of this node's registry (chain.attestationRegistry: those naming it, and those naming none), or --registry's. Each is checked on the AttestationRegistry it was co-signed for: refused when one is attested, --force or not, and when one cannot be checked unless --force (which releases those unchecked); without --yes it prints what it would release and exits 1; each release is logged",
    options: ["config", "registry", "yes", "force"],
  },
};

/** Command groups: a group's commands are `<group> <sub>`. */
const GROUPS: Record<string, string> = {
  keys: "create, import, show, rotate, api-create, api-list or api-revoke",
  cosigned: "list or release",
};

const OPTION_HELP: Record<OptionName, string> = {
  config: "-c, --config FILE            JSON config file (default: $CARBONPROOF_ORACLE_CONFIG)",
  json: "    --json                   import: print the report as one JSON object; cosigned list: one JSON object a line",
  all: "    --all                    retry: every failed batch that holds readings and was not abandoned, in period order",
  "shutdown-timeout": `    --shutdown-timeout SECONDS  start: exit non-zero, naming what is still open, when a stop takes longer (default: $${SHUTDOWN_TIMEOUT_ENV} or ${DEFAULT_SHUTDOWN_TIMEOUT_S})`,
  "private-key-env": "    --private-key-env NAME   keys import: environment variable holding the 0x key",
  scope: "    --scope SCOPE            keys api-create: facility, device, admin or oracle",
  subject:
    "    --subject ID             keys api-create: who the key is for: a facility or device id, an admin's name, an oracle node's address (`keys show` on it)",
  label: "    --label TEXT             keys api-create: a note shown by api-list",
  "dry-run":
    "    --dry-run                copy-from-sqlite: copy and check everything, then roll back (the target stays empty)",
  force:
    "    --force                  backup: replace FILE.db if it exists; cosigned release: also release the records whose header cannot be checked on-chain (make sure on a block explorer first); never one found attested",
  facility: "    --facility ID            cosigned list: only this facility's (its id, or its bytes32 hex)",
  registry:
    "    --registry ADDRESS[@CHAINID]|all  cosigned release: the records of that AttestationRegistry (on chain.chainId unless @CHAINID), or of every registry, instead of those blocking this node's (`cosigned list` shows each record's)",
  yes: "    --yes                    cosigned release: release (without it, only print what would be released)",
  content:
    "    --content DIR            backup: also copy each bundle and evidence file the backup names into DIR, one file per CID (only those DIR lacks); restore: put DIR's files back into the node's IPFS store, pinned",
  help: "-h, --help                   this help (also after a command: `keys rotate --help`)",
};

/** Help for the whole CLI, one group (`keys`) or one command (`keys rotate`). */
function help(command: string | null): string {
  const names = Object.keys(COMMANDS).filter((n) => !command || n === command || n.startsWith(`${command} `));
  const options = new Set<OptionName>(["help"]);
  for (const n of names) for (const o of COMMANDS[n]!.options) options.add(o);
  const lines = [
    `usage: carbonproof-oracle ${command && names.length === 1 ? COMMANDS[command]!.usage : `${command ?? "<command>"} [options]`}`,
    "",
  ];
  lines.push("commands:");
  for (const n of names) lines.push(`  ${COMMANDS[n]!.usage}`, `      ${COMMANDS[n]!.about}`);
  lines.push("", "options:");
  for (const o of Object.keys(OPTION_HELP) as OptionName[]) if (options.has(o)) lines.push(`  ${OPTION_HELP[o]}`);
  lines.push(
    "",
    "environment:",
    "  CARBONPROOF_ORACLE_CONFIG              config file when --config is not given",
    "  CARBONPROOF_ORACLE__<KEY>__<SUBKEY>    config overrides (docs/oracle.md, Configuration)",
    "  CARBONPROOF_ORACLE_KEYSTORE_PASSWORD   keystore password (name set by chain.keystore.passwordEnv)",
    "  CARBONPROOF_ORACLE_PRIVATE_KEY         plain key: local chain (id 31337) only, or with CARBONPROOF_ALLOW_PLAIN_KEY=1",
    `  ${SHUTDOWN_TIMEOUT_ENV}   start: shutdown deadline in seconds`,
    "",
    "exit codes: 0 done, 1 failed, 2 bad command line or config, 130/143 stopped by SIGINT/SIGTERM (import; a second signal during shutdown)",
  );
  return `${lines.join("\n")}\n`;
}

/** The command a command line names (`keys rotate`, `status`), read loosely so that an error in it can still show the right usage. */
function commandOf(positionals: string[]): string | null {
  const [cmd, sub] = positionals;
  if (!cmd) return null;
  if (GROUPS[cmd]) return sub && COMMANDS[`${cmd} ${sub}`] ? `${cmd} ${sub}` : cmd;
  return COMMANDS[cmd] ? cmd : null;
}

const OPTIONS = {
  config: { type: "string", short: "c" },
  json: { type: "boolean" },
  all: { type: "boolean" },
  scope: { type: "string" },
  subject: { type: "string" },
  label: { type: "string" },
  "private-key-env": { type: "string" },
  "shutdown-timeout": { type: "string" },
  "dry-run": { type: "boolean" },
  force: { type: "boolean" },
  content: { type: "string" },
  facility: { type: "string" },
  registry: { type: "string" },
  yes: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

type Args = {
  command: string;
  values: Partial<Record<OptionName, string | boolean>>;
  /** Positionals after the command (after `<group> <sub>` for a group's). */
  rest: string[];
};

/** Parses and checks the command line: `null` when help was asked for (printed), else a known command with only its options. */
function parseCommandLine(argv: string[]): Args | null {
  const loose = parseArgs({ args: argv, options: OPTIONS, strict: false, allowPositionals: true });
  const guess = commandOf(loose.positionals);
  if (loose.values.help) {
    process.stdout.write(help(guess));
    return null;
  }
  let parsed: ReturnType<typeof parseArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    const code = (err as { code?: string }).code ?? "";
    if (!code.startsWith("ERR_PARSE_ARGS")) throw err;
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ""), guess);
  }
  const [cmd, ...after] = parsed.positionals;
  if (!cmd) throw new UsageError("no command given", null);
  let command: string;
  let rest: string[];
  if (GROUPS[cmd]) {
    const sub = after[0];
    if (!sub) throw new UsageError(`\`${cmd}\` needs a subcommand: ${GROUPS[cmd]}`, cmd);
    command = `${cmd} ${sub}`;
    if (!COMMANDS[command]) throw new UsageError(`unknown subcommand \`${cmd} ${sub}\``, cmd);
    rest = after.slice(1);
  } else {
    if (!COMMANDS[cmd])
      throw new UsageError(
        `unknown command \`${cmd}\`: use start, import, status, retry, abandon, backup, restore, pin, copy-from-sqlite, keys or cosigned`,
        null,
      );
    command = cmd;
    rest = after;
  }
  const spec = COMMANDS[command]!;
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value === undefined) continue;
    if (!spec.options.includes(name as OptionName)) throw new UsageError(`\`${command}\` takes no --${name}`, command);
  }
  const values = parsed.values as Args["values"];
  if (command === "retry") {
    if (values.all && rest.length) throw new UsageError("give batch ids or --all, not both", command);
    if (!values.all && !rest.length)
      throw new UsageError("`retry` needs the ids of the failed batches (`status` lists them), or --all", command);
    checkValues(command, values, rest);
    return { command, values, rest };
  }
  if (command === "cosigned release") {
    if (rest.length < 2)
      throw new UsageError(
        "`cosigned release` needs the facility and at least one period (its start, or START..END, as `cosigned list` shows them)",
        command,
      );
    checkValues(command, values, rest);
    return { command, values, rest };
  }
  const wanted =
    command === "import" ||
    command === "keys api-revoke" ||
    command === "abandon" ||
    command === "copy-from-sqlite" ||
    command === "backup" ||
    command === "restore" ||
    command === "pin"
      ? 1
      : 0;
  if (rest.length < wanted) {
    throw new UsageError(
      command === "import"
        ? "`import` needs the CSV file to read (`-` for stdin)"
        : command === "copy-from-sqlite"
          ? "`copy-from-sqlite` needs the SQLite database to copy (the old node's dataDir/oracle.db)"
          : command === "backup"
            ? "`backup` needs the file to write the backup to (FILE.db)"
            : command === "restore"
              ? "`restore` needs the backup to put back (the FILE.db `backup` wrote)"
              : command === "pin"
                ? "`pin` needs the files to pin, or a directory of them (a `backup --content` DIR)"
                : command === "abandon"
                  ? "`abandon` needs the id of the failed batch (`status` lists them)"
                  : "`keys api-revoke` needs the numeric id of the key to revoke (see `keys api-list`)",
      command,
    );
  }
  if (rest.length > wanted && command !== "pin")
    throw new UsageError(`\`${command}\` does not take \`${rest.slice(wanted).join(" ")}\``, command);
  checkValues(command, values, rest);
  return { command, values, rest };
}

const API_SCOPES = ["facility", "device", "admin", "oracle"] as const;
type ApiScope = (typeof API_SCOPES)[number];

/** Values a command needs in a given shape, checked before any config or file is read. */
function checkValues(command: string, values: Args["values"], rest: string[]): void {
  if (command === "keys api-create") {
    const scope = values.scope;
    if (typeof scope !== "string" || !(API_SCOPES as readonly string[]).includes(scope))
      throw new UsageError(
        `--scope must be one of ${API_SCOPES.join(", ")}${typeof scope === "string" ? ` (got "${scope}")` : ""}`,
        command,
      );
    if (typeof values.subject !== "string" || !values.subject.trim())
      throw new UsageError(
        "--subject needs who the key is for: a facility or device id, an admin's name, or an oracle node's address (as `keys show` prints it on that node)",
        command,
      );
    const label = typeof values.label === "string" ? values.label : undefined;
    const problem = apiKeyFieldsProblem({ scope: scope as ApiScope, subject: values.subject, label });
    if (problem) throw new UsageError(problem.replace(/^(subject|label)\b/, "--$1"), command);
  }
  if (command === "retry" || command === "abandon") {
    const bad = rest.find((id) => !/^[1-9][0-9]{0,14}$/.test(id));
    if (bad !== undefined)
      throw new UsageError(`a batch id is a positive whole number as \`status\` shows it (got "${bad}")`, command);
  }
  if (command === "keys api-revoke" && !/^[1-9][0-9]{0,14}$/.test(rest[0]!))
    throw new UsageError(
      `the key id is a positive whole number as \`keys api-list\` shows it (got "${rest[0]}")`,
      command,
    );
  if (command === "cosigned release") {
    const bad = rest.slice(1).find((p) => !/^[0-9]{1,12}(\.\.[0-9]{1,12})?$/.test(p));
    if (bad !== undefined)
      throw new UsageError(
        `a period is its start in unix seconds, or START..END, as \`cosigned list\` shows it (got "${bad}")`,
        command,
      );
    const registry = values.registry;
    if (typeof registry === "string" && registry !== "all" && !/^0x[0-9a-fA-F]{40}(@[1-9][0-9]{0,14})?$/.test(registry))
      throw new UsageError(
        `--registry takes an AttestationRegistry's address (0x and 40 hex digits), with @CHAINID when it is not on chain.chainId, as \`cosigned list\` shows it, or all (got "${registry}")`,
        command,
      );
  }
  if (command === "keys import") {
    const name = values["private-key-env"];
    if (typeof name === "string" && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw new UsageError(
        "--private-key-env takes the name of an environment variable (letters, digits, _), not a key or other value: put the key in that variable",
        command,
      );
  }
}

function stringOption(args: Args, name: OptionName): string | undefined {
  const v = args.values[name];
  return typeof v === "string" ? v : undefined;
}

/** The shutdown deadline in seconds: --shutdown-timeout, else the environment, else 30. */
function shutdownTimeoutS(args: Args): number {
  const flag = stringOption(args, "shutdown-timeout");
  const raw = flag ?? process.env[SHUTDOWN_TIMEOUT_ENV];
  if (raw === undefined || raw === "") return DEFAULT_SHUTDOWN_TIMEOUT_S;
  const s = Number(raw);
  if (!Number.isFinite(s) || s <= 0 || s > 86_400) {
    const where = flag !== undefined ? "--shutdown-timeout" : SHUTDOWN_TIMEOUT_ENV;
    throw new UsageError(`${where} must be a number of seconds above 0 and at most 86400 (got "${raw}")`, "start");
  }
  return s;
}

/** config/load.ts's error class once a config was read: its errors exit 2 with their own message. */
let ConfigErrorClass: (new (...a: never[]) => Error) | undefined;

/** The config file the command line names: --config, else $CARBONPROOF_ORACLE_CONFIG, else none (the environment only). */
function configFileOf(args: Args): string | undefined {
  return stringOption(args, "config") ?? (process.env.CARBONPROOF_ORACLE_CONFIG || undefined);
}

async function config(file: string | undefined): Promise<Config> {
  const { ConfigError, loadConfig } = await import("../config/load.ts");
  ConfigErrorClass = ConfigError;
  return loadConfig({ file });
}

async function openStorage(cfg: Config): Promise<SqlStorage> {
  const { openStorage, storageSpec } = await import("../storage/open.ts");
  return openStorage(storageSpec(cfg));
}

/** Whether the node's database exists: always for PostgreSQL (the server says otherwise), else its file. */
function hasDatabase(cfg: Config): boolean {
  return cfg.storage.driver === "postgres" || existsSync(join(resolve(cfg.dataDir), "oracle.db"));
}

async function calculator(cfg: Config) {
  const { SdkCalculator } = await import("../compute/sdk.ts");
  return SdkCalculator.fromConfig(cfg);
}

function password(cfg: Config): string {
  const p = process.env[cfg.chain.keystore.passwordEnv];
  if (!p) throw new Error(`set the keystore password in the environment variable ${cfg.chain.keystore.passwordEnv}`);
  return p;
}

/** Opens the node's keystore; a wrong password says which variable to fix. */
async function openNodeKeystore(path: string, cfg: Config): Promise<{ address: string }> {
  const { KeystoreError, openKeystore } = await import("../chain/keystore.ts");
  try {
    return openKeystore(path, password(cfg));
  } catch (err) {
    if (err instanceof KeystoreError && err.code === "KEYSTORE_WRONG_PASSWORD") {
      throw new Error(
        `wrong password for the keystore ${path}: set ${cfg.chain.keystore.passwordEnv} to the password it was created with`,
        { cause: err },
      );
    }
    throw err;
  }
}

/**
 * Takes the lock of the data dir `dir` for `purpose` until this process exits (pid.ts
 * `lockDataDir`: a node's `start`, a `restore`, a `keys rotate` exclude each other), or throws
 * naming who holds it; `why` says what running beside it would break.
 */
function takeDataDir(dir: string, purpose: string, why: string): () => void {
  const lock = lockDataDir(dir, purpose);
  if (!lock.ok) throw new Error(`${describeHolder(lock.holder)} runs on ${dir}: stop it first${why}`);
  process.on("exit", lock.release);
  return lock.release;
}

/**
 * Throws if a process holds the data dir `dir` (a dir where a node never ran has no lock file and
 * is not written to); `why` as for `takeDataDir`.
 */
function refuseIfHeld(dir: string, why: string): void {
  if (!existsSync(join(dir, "oracle.lock"))) return;
  takeDataDir(dir, "copy-from-sqlite", why)();
}

/**
 * `backup FILE` and `restore FILE` (storage/backup.ts): SQLite only; PostgreSQL has its own tools.
 * A JSON report on stdout, a line on stderr before the work (a large database takes a while).
 */
async function backupOrRestore(
  cfg: Config,
  command: "backup" | "restore",
  given: string,
  opts: { force: boolean; content: string | null },
) {
  if (cfg.storage.driver === "postgres")
    throw new Error(
      `this node stores in PostgreSQL (storage.driver postgres): ${command === "backup" ? "back it up with pg_dump, or the server's own backups" : "restore it with pg_restore or psql"} (docs/oracle.md, "Backups")`,
    );
  const { backupDatabase, checkNodeDatabase, fsyncMadeDirs, restoreDatabase } = await import("../storage/backup.ts");
  const database = join(resolve(cfg.dataDir), "oracle.db");
  if (command === "backup") {
    if (existsSync(database))
      process.stderr.write(
        `backing up ${database} (${(statSync(database).size / 2 ** 20).toFixed(1)} MiB) to ${resolve(given)}…\n`,
      );
    const report = backupDatabase({ source: database, target: given, force: opts.force });
    if (opts.content === null) {
      console.log(JSON.stringify(report));
      return;
    }
    let content: Awaited<ReturnType<typeof backupContentOf>>;
    try {
      content = await backupContentOf(cfg, report.backup, resolve(opts.content));
    } catch (err) {
      console.log(JSON.stringify(report));
      throw new Error(
        `the database backup ${report.backup} is complete, but its bundle and evidence files were not copied: ${(err as Error).message}`,
        { cause: err },
      );
    }
    console.log(JSON.stringify({ ...report, content }));
    const some = (list: { cid: string; why: string }[]) =>
      `${list
        .slice(0, 3)
        .map((m) => `${m.cid}: ${m.why}`)
        .join("; ")}${list.length > 3 ? "; …" : ""}`;
    if (content.unreadable.length)
      throw new Error(
        `the database backup ${report.backup} is complete, but ${content.unreadable.length} of the ${content.cids} files it names could not be read from the node's IPFS store (${some(content.unreadable)}): is it reachable (ipfs.mode ${cfg.ipfs.mode})? Run backup again; what was copied stays`,
      );
    if (content.missing.length)
      throw new Error(
        `the database backup ${report.backup} is complete, but ${content.missing.length} of the ${content.cids} files it names are not in the node's IPFS store (${some(content.missing)}): pin them again from a copy (\`carbonproof-oracle pin FILE\`) or any IPFS node that holds them, then run backup again`,
      );
    return;
  }
  // a fresh host, where restore is most needed, has no data dir yet: made as `start` makes it,
  // on disk before the database is renamed into it (restoreDatabase syncs only the dir itself);
  // the backup checked first, so that a path given wrong makes no data dir
  const dataDir = resolve(cfg.dataDir);
  if (!existsSync(dataDir)) {
    const backup = resolve(given);
    if (!existsSync(backup)) throw new Error(`no backup at ${backup}: give the file \`backup\` wrote`);
    checkNodeDatabase(backup, "the backup", false);
    const made = makeDataDir(dataDir);
    if (made !== undefined) {
      fsyncMadeDirs(dataDir, made);
      process.stderr.write(`made the data directory ${dataDir}\n`);
    }
  }
  // held until the restore ends: a node started meanwhile is refused
  takeDataDir(dataDir, "restore", "; a restore under a running node would lose what it writes");
  // the files first: putting blocks into the store changes nothing a node reads by itself, and a
  // content backup that is not what it says stops the restore before the database is touched
  const content = opts.content === null ? null : await restoreContentOf(cfg, resolve(opts.content), resolve(given));
  process.stderr.write(`restoring ${resolve(given)} as ${database}…\n`);
  const report = restoreDatabase({ backup: given, database });
  console.log(
    JSON.stringify({
      ...report,
      ...(content ? { content } : {}),
      next: "start the node: it resumes the batches the backup holds; readings it accepted after the backup was made are not in it (devices do not send an acknowledged reading again)",
    }),
  );
}

/** `backup --content DIR`: the blocks the backup `file` names, from the node's store into DIR. */
async function backupContentOf(cfg: Config, file: string, dir: string) {
  const { backupContent, contentCids } = await import("../ipfs/content-backup.ts");
  const { formatCount } = await import("../../../sdk/src/cli/progress.ts");
  const store = await openContentReader(cfg);
  const progress = await progressLine();
  try {
    const cids = contentCids(file);
    process.stderr.write(`copying the ${cids.length} bundle and evidence files it names to ${dir}…\n`);
    return await backupContent({
      cids,
      dir,
      read: (cid) => store.get(cid),
      progress: (done, total) =>
        progress.update(() => `backup --content: ${formatCount(done)} of ${formatCount(total)} files`),
    });
  } finally {
    progress.done();
    await store.close();
  }
}

/** `restore --content DIR`: DIR's blocks into the node's store, pinned (the node stopped). */
async function restoreContentOf(cfg: Config, dir: string, backup: string) {
  const { contentCids, restoreContent } = await import("../ipfs/content-backup.ts");
  const { checkNodeDatabase } = await import("../storage/backup.ts");
  // the backup first: a file that is no node database is refused before any block is put
  if (!existsSync(backup)) throw new Error(`no backup at ${backup}: give the file \`backup\` wrote`);
  checkNodeDatabase(backup, "the backup", false);
  const { formatCount } = await import("../../../sdk/src/cli/progress.ts");
  const store = await openContentWriter(cfg);
  const progress = await progressLine();
  try {
    process.stderr.write(`putting the files of ${dir} into the node's IPFS store (${cfg.ipfs.mode})…\n`);
    const report = await restoreContent({
      dir,
      cids: contentCids(backup),
      put: (bytes) => store.addAndPin(bytes),
      progress: (done, total) =>
        progress.update(() => `restore --content: ${formatCount(done)} of ${formatCount(total)} files`),
    });
    if (report.lacking.length)
      process.stderr.write(
        `warning: ${report.lacking.length} file(s) the backup names are not in ${dir} (${report.lacking.slice(0, 3).join(", ")}${report.lacking.length > 3 ? ", …" : ""}): pin them from another copy of their CID\n`,
      );
    return report;
  } finally {
    progress.done();
    await store.close();
  }
}

/** The node's content store, to put blocks into: the embedded Helia store (the node stopped), or the Kubo node's RPC API. */
async function openContentWriter(cfg: Config) {
  return cfg.ipfs.mode === "helia"
    ? (await import("../ipfs/helia.ts")).HeliaStore.open(join(resolve(cfg.dataDir), "ipfs"))
    : new (await import("../ipfs/kubo.ts")).KuboStore(cfg.ipfs.kuboUrl, cfg.ipfs.timeoutMs);
}

/**
 * `pin FILE|DIR...`: files into the node's IPFS store, pinned (ipfs/content-backup.ts `pinFiles`),
 * a JSON report of their CIDs on stdout. The embedded store belongs to the node while it runs, so
 * its data dir is held until the command ends (a running node refuses it; one started meanwhile is refused).
 * `configFile` is the config file the node was given (--config or $CARBONPROOF_ORACLE_CONFIG), if any.
 */
async function pin(cfg: Config, paths: string[], configFile: string | undefined): Promise<void> {
  const { pinFiles } = await import("../ipfs/content-backup.ts");
  const { formatCount } = await import("../../../sdk/src/cli/progress.ts");
  if (cfg.ipfs.mode === "helia") {
    const dir = resolve(cfg.dataDir);
    if (!existsSync(join(dir, "ipfs")))
      throw new Error(
        `no embedded IPFS store at ${join(dir, "ipfs")}: is dataDir right, or does the node pin to Kubo (ipfs.mode kubo)?`,
      );
    takeDataDir(
      dir,
      "pin",
      ": the embedded IPFS store is the node's while it runs (a node on Kubo can pin while running)",
    );
  }
  const store = await openContentWriter(cfg);
  const progress = await progressLine();
  try {
    const { keystorePath } = await import("../chain/setup.ts");
    const report = await pinFiles({
      paths: paths.map((p) => resolve(p)),
      put: (bytes) => store.addAndPin(bytes),
      // the database, the keys and the config must never reach an IPFS node (Kubo announces what
      // it holds). Of the other path settings (PATH_SETTINGS) none names a secret: mqtt.caFile and
      // mqtt.certFile are certificates, shown to every broker connected to (a PEM that holds a key
      // as well is refused by its content); devices.file lists public keys, as the DeviceRegistry
      // does; methodology.factorSetFile is a published factor set, its id its hash.
      refuse: [
        {
          path: resolve(cfg.dataDir),
          why: "inside the node's dataDir, where its database and keystore are: copy the file elsewhere first",
        },
        { path: keystorePath(cfg), why: "the node's keystore" },
        ...(cfg.mqtt.keyFile ? [{ path: resolve(cfg.mqtt.keyFile), why: "the MQTT client's private key" }] : []),
        ...(configFile
          ? [
              {
                path: resolve(configFile),
                why: "the node's config file, which may hold secrets (storage.url, chain.rpcUrl, passwords, API keys)",
              },
            ]
          : []),
      ],
      progress: (done, total) => progress.update(() => `pin: ${formatCount(done)} of ${formatCount(total)} files`),
    });
    progress.done();
    console.log(JSON.stringify({ store: cfg.ipfs.mode, ...report }));
    process.stderr.write(
      `carbonproof-oracle: ${report.pinned.length} file(s) pinned; a batch that failed for want of one of them: \`retry ID\` (\`status\` lists the failed ones)\n`,
    );
  } finally {
    progress.done();
    await store.close();
  }
}

/** A progress line on stderr (sdk/src/cli/progress.ts). */
async function progressLine() {
  const { ProgressLine } = await import("../../../sdk/src/cli/progress.ts");
  return new ProgressLine({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
}

/**
 * The node's content store, to read from beside a running node: the embedded store's block files
 * (Helia itself is not started: its datastore belongs to the node), or the Kubo node's RPC API.
 */
async function openContentReader(
  cfg: Config,
): Promise<{ get(cid: string): Promise<Uint8Array | null>; close(): Promise<void> }> {
  if (cfg.ipfs.mode === "kubo")
    return new (await import("../ipfs/kubo.ts")).KuboStore(cfg.ipfs.kuboUrl, cfg.ipfs.timeoutMs);
  const dir = join(resolve(cfg.dataDir), "ipfs");
  if (!existsSync(join(dir, "blocks")))
    throw new Error(
      `no embedded IPFS store at ${dir}: is dataDir right, or does the node pin to Kubo (ipfs.mode kubo)?`,
    );
  return (await import("../ipfs/helia.ts")).openBlockReader(dir);
}

/**
 * `copy-from-sqlite FILE`: the SQLite database of a stopped node into the configured, empty
 * PostgreSQL database (storage/copy-to-postgres.ts); a JSON report on stdout, progress on stderr.
 */
async function copyFromSqlite(cfg: Config, given: string, dryRun: boolean): Promise<void> {
  if (cfg.storage.driver !== "postgres" || !cfg.storage.url)
    throw new Error(
      "copy-from-sqlite copies into the node's PostgreSQL database: set storage.driver to postgres and storage.url (or CARBONPROOF_ORACLE__STORAGE__DRIVER and CARBONPROOF_ORACLE__STORAGE__URL), then run it again",
    );
  const file = resolve(given);
  if (!existsSync(file))
    throw new Error(`no SQLite database at ${file}: give the old node's database file, dataDir/oracle.db`);
  const why = ", so that no reading arrives during or after the copy that the copy misses";
  // the old node's dir is checked; this node's is held until the copy ends (a node started meanwhile is refused)
  if (dirname(file) !== resolve(cfg.dataDir)) refuseIfHeld(dirname(file), why);
  if (existsSync(resolve(cfg.dataDir))) takeDataDir(resolve(cfg.dataDir), "copy-from-sqlite", why);
  const { copySqliteToPostgres } = await import("../storage/copy-to-postgres.ts");
  const { urlForMessages } = await import("../url-scrub.ts");
  const { ProgressLine, formatCount } = await import("../../../sdk/src/cli/progress.ts");
  const progress = new ProgressLine({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
  const started = performance.now();
  const report = copySqliteToPostgres({
    file,
    url: cfg.storage.url,
    dryRun,
    onProgress: (p) =>
      progress.update(
        () =>
          `copy-from-sqlite: ${p.phase === "copy" ? "copying" : "checking"} ${p.table}, ${formatCount(p.done)} of ${formatCount(p.total)} rows (${Math.floor((100 * p.done) / Math.max(p.total, 1))}%)`,
      ),
  });
  progress.done();
  console.log(
    JSON.stringify(
      {
        from: file,
        to: urlForMessages(cfg.storage.url, "storage.url"),
        dryRun,
        rows: report.tables,
        sha256: report.sha256,
        seconds: Math.round((performance.now() - started) / 100) / 10,
      },
      null,
      2,
    ),
  );
  process.stderr.write(
    dryRun
      ? `copy-from-sqlite: dry run: every row copied and checked, then rolled back; ${urlForMessages(cfg.storage.url, "storage.url")} is as it was. Run it without --dry-run to copy.\n`
      : `copy-from-sqlite: done; start the node with this config (storage.driver postgres). ${file} is unchanged: keep it until the node runs on PostgreSQL.\n`,
  );
}

/**
 * Makes the data dir `dataDir` if it is missing, its parents as `mkdir -p` does (the umask's mode)
 * and itself owner-only (0700: the database, the dead letters' payloads and the evidence files
 * in the embedded IPFS store, an invoice or a meter photo, are no other local user's to read), and
 * checks that this user can read and write it; returns the first directory made (undefined when
 * it was there). `start` and `restore` (onto a fresh host) make it so.
 */
function makeDataDir(dataDir: string): string | undefined {
  try {
    const notADirectory = () => Object.assign(new Error("not a directory"), { code: "ENOTDIR" });
    let parents: string | undefined;
    try {
      parents = mkdirSync(dirname(dataDir), { recursive: true });
    } catch (err) {
      // `mkdir -p` of a path with a file in it says EEXIST
      throw (err as NodeJS.ErrnoException).code === "EEXIST" ? notADirectory() : err;
    }
    let made: string | undefined = parents;
    try {
      mkdirSync(dataDir, { mode: 0o700 });
      made ??= dataDir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      // there already: a directory (or a link to one), not a file of that name
      if (!statSync(dataDir).isDirectory()) throw notADirectory();
    }
    accessSync(dataDir, fsConstants.R_OK | fsConstants.W_OK);
    return made;
  } catch (err) {
    throw new Error(
      `dataDir ${dataDir} cannot be the node's data directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}): set dataDir (config file, or CARBONPROOF_ORACLE__DATA_DIR) to a directory this user can create or write`,
      { cause: err },
    );
  }
}

/**
 * The warning for a data dir whose mode lets its group or others in (mode & 0o077), as ssh warns
 * of an unprotected key; undefined when it is owner-only. `makeDataDir` makes a new one 0700 but
 * leaves the mode of one that was there: an operator's choice, or an accident (made by hand with
 * the umask's 0755, unpacked from an archive). A warning, not a refusal: some operators let a
 * backup group read the dir on purpose, and a node that will not start over a mode it need not
 * know the reason for stops the readings too; everyone else is told the fix. `start` warns;
 * `restore` makes a data dir only where there is none (0700), and the start after it warns. Not
 * on Windows, where the mode stat gives is made up from the read-only flag (ACLs decide there).
 */
function dataDirOpenToOthers(dataDir: string): { mode: string; message: string } | undefined {
  if (process.platform === "win32") return undefined;
  const mode = statSync(dataDir).mode & 0o7777;
  if ((mode & 0o077) === 0) return undefined;
  const octal = mode.toString(8).padStart(4, "0");
  const who = [mode & 0o070 ? "its group" : "", mode & 0o007 ? "other users" : ""].filter(Boolean).join(" and ");
  return {
    mode: octal,
    message: `the data dir ${dataDir} has mode ${octal}, which lets ${who} in; the database, the dead letters' payloads and the evidence files in it are no one else's to read. Run \`chmod 700 ${dataDir}\`, unless the dir is shared on purpose`,
  };
}

async function start(cfg: Config, deadlineS: number): Promise<void> {
  const { createCommon } = await import("../common.ts");
  const { startNode } = await import("../node.ts");
  const dataDir = resolve(cfg.dataDir);
  makeDataDir(dataDir);
  const openDataDir = dataDirOpenToOthers(dataDir);
  // before anything is opened: a second node on one data dir would seal, sign and submit the same batches
  takeDataDir(dataDir, "start", ", or give this node a dataDir of its own");
  const common = createCommon(cfg);
  // in the node's log, where its operator reads what it says while it runs, not a line on stderr only
  if (openDataDir) common.logger.warn({ dataDir, mode: openDataDir.mode }, openDataDir.message);
  const node = await startNode(common, { calculator: await calculator(cfg) });
  common.logger.info(
    { http: node.httpUrl, mqtt: node.mqtt?.url ?? null, dataDir: resolve(cfg.dataDir), chain: cfg.chain.enabled },
    "oracle node started",
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      // the operator means it: what is acknowledged is already durable (docs/oracle.md, Durability)
      const open = common.shutdown.open;
      common.logger.error(
        { signal, open },
        `second ${signal} during shutdown: exiting now, ${open.join(", ") || "nothing"} not closed`,
      );
      process.exit(signal === "SIGINT" ? 130 : 143);
    }
    stopping = true;
    common.logger.info(
      { signal, deadlineS },
      "stopping: intake closed, flushing, closing (a second signal exits at once)",
    );
    setTimeout(() => {
      const open = common.shutdown.open;
      common.logger.error(
        { deadlineS, open },
        `shutdown did not finish within ${deadlineS} s: exiting with ${open.join(", ")} still open`,
      );
      process.exit(1);
    }, deadlineS * 1000);
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

/**
 * After a rotation the batches signed with the old key (signed, not yet submitted) carry a
 * signature the OracleSet will refuse once the old key is removed: back to pinned, so that the
 * next start signs them again with the new key. The header, and so the attestation id, stay.
 */
async function resetSignedBatches(cfg: Config): Promise<number> {
  if (!hasDatabase(cfg)) return 0;
  const storage = await openStorage(cfg);
  try {
    let reset = 0;
    const { awaitsAdoption } = await import("../storage/types.ts");
    for (const b of storage.listBatches({ states: ["signed"], limit: 1_000_000 })) {
      // one awaiting adoption carries no signature: nothing to sign again (it is never sent)
      if (awaitsAdoption(b)) continue;
      if (
        storage.transition(b.id, ["signed"], "pinned", {
          signatures: null,
          error: null,
          attempts: 0,
          nextAttemptAtMs: 0,
        })
      )
        reset++;
    }
    return reset;
  } finally {
    storage.close();
  }
}

/** The operator's decisions on failed batches (batch/operator.ts), on this command's own connection. */
async function batchOperator(cfg: Config, storage: SqlStorage) {
  const { BatchOperator, registryReader } = await import("../batch/operator.ts");
  const { pino } = await import("pino");
  // its log lines go nowhere: the command prints what it did, and a running node logs its own work
  return new BatchOperator({
    storage,
    registry: registryReader(cfg),
    nowMs: () => Date.now(),
    logger: pino({ level: "silent" }),
  });
}

/**
 * `retry`: failed batches back into the pipeline (batch/operator.ts), in period order, so that a
 * running node picks them up at its next tick and a stopped one at its start. A regular batch is
 * first checked against the registry's frontier when the chain is configured.
 */
async function retry(cfg: Config, ids: number[] | null): Promise<void> {
  const storage = await openStorage(cfg);
  try {
    const operator = await batchOperator(cfg, storage);
    const progress = await progressLine();
    const { formatCount } = await import("../../../sdk/src/cli/progress.ts");
    let outcomes: OperatorResult[];
    try {
      // each batch the registry has attested past is looked for in its events: seconds apiece
      ({ outcomes } = await operator.retryMany(ids, "cli", {
        progress: (done, total) =>
          total > 1 && progress.update(() => `retry: ${formatCount(done)} of ${formatCount(total)} batches`),
      }));
    } finally {
      progress.done();
    }
    if (!outcomes.length) {
      process.stderr.write("carbonproof-oracle: no failed batch to retry (`status` lists batches by state)\n");
      return;
    }
    for (const { warning, ...out } of outcomes) {
      if (warning) process.stderr.write(`carbonproof-oracle: warning: ${warning}\n`);
      if (out.done) {
        console.log(JSON.stringify(out));
        if (out.adopting)
          process.stderr.write(
            `carbonproof-oracle: batch ${out.batch}'s period is attested already, by ${out.adopting.attestationId} (${out.adopting.readings} readings): the node takes the batch as its record, the readings it lacks given back from bundle ${out.adopting.bundleCid}, if that bundle is in its IPFS store (\`pin\` puts it there, the node stopped; a node on Kubo can pin while running, and also asks the IPFS network for it); if not, the batch fails again saying so, abandoned or not as it was. It holds none of the facility's later batches back meanwhile\n`,
          );
      } else {
        process.stderr.write(`carbonproof-oracle: ${out.reason}\n`);
        process.exitCode = 1;
      }
    }
  } finally {
    storage.close();
  }
}

/** `abandon`: the operator gives up on a failed batch (batch/operator.ts). */
async function abandon(cfg: Config, id: number): Promise<void> {
  const storage = await openStorage(cfg);
  try {
    const out = (await batchOperator(cfg, storage)).abandon(id, "cli");
    if (out.done) {
      console.log(JSON.stringify(out));
      process.stderr.write(
        `carbonproof-oracle: batch ${id} abandoned: its ${out.readings} readings stay stored and unattested; \`retry ${id}\` takes it back while the registry has not attested a later period of its facility (or, if it holds an attestation of exactly its period, to be taken as that record)\n`,
      );
    } else {
      process.stderr.write(`carbonproof-oracle: ${out.reason}\n`);
      process.exitCode = 1;
    }
  } finally {
    storage.close();
  }
}

/** A facility as given (its id, or its bytes32 hex) as the bytes32 hex the records hold. */
async function facilityBytes32(given: string, command: string): Promise<string> {
  if (/^0x[0-9a-fA-F]{64}$/.test(given)) return given.toLowerCase();
  const { idToBytes32, isValidId } = await import("../../../sdk/src/index.ts");
  if (!isValidId(given))
    throw new UsageError(
      `"${given}" is neither a facility id (1-32 of a-z, 0-9, '.', '_', '-') nor a bytes32 hex (0x and 64 hex digits)`,
      command,
    );
  return idToBytes32(given);
}

/** `cosigned list` and `cosigned release` (quorum/release.ts): the operator's view of this node's co-sign records. */
async function cosigned(command: string, cfg: Config, args: Args): Promise<void> {
  const { bytes32ToId } = await import("../../../sdk/src/index.ts");
  const name = (hex: string) => {
    try {
      return bytes32ToId(hex as `0x${string}`);
    } catch (err) {
      return `${hex} (${(err as Error).message})`; // not an id's bytes: shown as they are
    }
  };
  const { parsePeriod, parseRegistryChoice, planRelease, registryText, releaseRecords } =
    await import("../quorum/release.ts");
  const iso = (s: number) => new Date(s * 1000).toISOString();
  const line = (r: import("../storage/types.ts").CosignRecord) =>
    `${name(r.facilityId)}  ${r.periodStart}..${r.periodEnd} (${iso(r.periodStart)} .. ${iso(r.periodEnd)})  ${/^0x0{64}$/.test(r.correctionOf) ? "regular" : `correction of ${r.correctionOf}`}  ${r.attestationId}  ${r.bundleCid}  signed ${new Date(r.signedAtMs).toISOString()}  ${registryText(r)}`;
  // `registry` null: a record made before records named their registry, which holds on every one
  const json = (r: import("../storage/types.ts").CosignRecord, extra: { onChain?: string } = {}) =>
    JSON.stringify({ ...r, registry: r.registry ?? null, facility: name(r.facilityId), ...extra });
  if (!hasDatabase(cfg))
    throw new Error(
      `no database at ${join(resolve(cfg.dataDir), "oracle.db")}: check dataDir (or --config), or start the node once to create it`,
    );
  const facilityArg = command === "cosigned list" ? stringOption(args, "facility") : args.rest[0]!;
  const facilityId = facilityArg === undefined ? undefined : await facilityBytes32(facilityArg, command);
  const storage = await openStorage(cfg);
  try {
    if (command === "cosigned list") {
      const records = storage.listCosigns({ ...(facilityId === undefined ? {} : { facilityId }), limit: 1_000_000 });
      for (const r of records) console.log(args.values.json === true ? json(r) : line(r));
      if (!records.length && args.values.json !== true)
        process.stderr.write(
          `carbonproof-oracle: no co-sign record${facilityArg === undefined ? "" : ` of facility ${facilityArg}`}\n`,
        );
      return;
    }
    const periods = args.rest.slice(1).map((p) => {
      const spec = parsePeriod(p);
      if (!spec) throw new UsageError(`the period ${p} ends before it starts`, command);
      return spec;
    });
    const registryArg = stringOption(args, "registry");
    const registry = registryArg === undefined ? null : parseRegistryChoice(registryArg, cfg.chain.chainId);
    if (registry === null && registryArg !== undefined)
      throw new UsageError(`--registry ${registryArg} is neither an address[@chain id] nor all`, command);
    const address = cfg.chain.attestationRegistry;
    // made by planRelease only once a record is selected: a period without one is refused
    // without waiting on the RPC node (up to its 10 s timeout when it hangs)
    const chain: import("../quorum/release.ts").ReleaseChainSource = async () => {
      if (!cfg.chain.enabled) return { unavailable: "chain.enabled is false in this node's config" };
      const { createPublicClient, http } = await import("viem");
      const { chainFor } = await import("../../../sdk/src/index.ts");
      const { attestationRegistryAbi } = await import("../chain/abi.ts");
      const client = createPublicClient({
        chain: chainFor(cfg.chain.chainId, cfg.chain.rpcUrl),
        transport: http(cfg.chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
      });
      // the chain the RPC node serves, as the node checks it at start (chain/viem.ts checkChainId):
      // on another chain, a contract at the registry's address there says "not attested" of a
      // header attested on the real one, and its record would be released unforced (review)
      let served: number;
      try {
        served = await client.getChainId();
      } catch (err) {
        return {
          unavailable: `the RPC node (chain.rpcUrl) could not be asked which chain it serves: ${(err as Error).message.split("\n")[0]}`,
        };
      }
      if (served !== cfg.chain.chainId)
        return {
          unavailable: `the RPC node (chain.rpcUrl) serves chain id ${served}, and chain.chainId is ${cfg.chain.chainId}: no registry is asked on another chain than the node's`,
        };
      return {
        chainId: cfg.chain.chainId,
        // each record on the registry it was co-signed for (quorum/release.ts)
        attested: (registry, id) =>
          client.readContract({ address: registry, abi: attestationRegistryAbi, functionName: "exists", args: [id] }),
      };
    };
    const plan = await planRelease({
      storage,
      facilityId: facilityId!,
      periods,
      current: address ? { chainId: cfg.chain.chainId, address: address.toLowerCase() } : null,
      registry,
      chain,
      force: args.values.force === true,
    });
    if (!plan.ok) {
      process.stderr.write(`carbonproof-oracle: ${plan.message}\n`);
      process.exitCode = 1;
      return;
    }
    if (args.values.yes !== true) {
      // each with the registry it was co-signed for (the list's last column) and what the chain said
      for (const r of plan.records) console.log(`${line(r.record)}  ${r.onChain}`);
      process.stderr.write(
        `carbonproof-oracle: would release the ${plan.records.length} co-sign record(s) above (${plan.summary}); nothing released: run again with --yes to release them\n`,
      );
      process.exitCode = 1;
      return;
    }
    const { pino } = await import("pino");
    const { userInfo } = await import("node:os");
    const logger = pino({ level: "info", base: { node: cfg.nodeName, part: "cosigned" } }, pino.destination(2));
    let user: string;
    try {
      user = userInfo().username;
    } catch (err) {
      // a uid without a passwd entry (a container): the uid, and why there is no name
      user = `uid ${process.getuid?.() ?? "unknown"} (${(err as Error).message})`;
    }
    const released = releaseRecords({
      storage,
      records: plan.records,
      by: `${process.env.SUDO_USER ? `${process.env.SUDO_USER} as ` : ""}${user} (carbonproof-oracle cosigned release, pid ${process.pid})`,
      logger,
    });
    logger.flush();
    for (const r of released) console.log(json(r.record, { onChain: r.onChain }));
    process.stderr.write(
      `carbonproof-oracle: released ${released.length} co-sign record(s) (${plan.summary}): this node no longer refuses another header for ${released.length === 1 ? "that period" : "those periods"} on the registry ${released.length === 1 ? "it was" : "each was"} co-signed for\n`,
    );
  } finally {
    storage.close();
  }
}

async function keys(command: string, cfg: Config, args: Args) {
  const { keystorePath } = await import("../chain/setup.ts");
  const { createKeystore, keystoreAddress } = await import("../chain/keystore.ts");
  const path = keystorePath(cfg);
  switch (command) {
    case "keys create": {
      if (existsSync(path)) throw new Error(`${path} exists; use \`keys rotate\` to replace it`);
      const account = createKeystore(path, password(cfg));
      console.log(JSON.stringify({ keystore: path, address: account.address }));
      return;
    }
    case "keys import": {
      const envName = stringOption(args, "private-key-env") ?? cfg.chain.keystore.privateKeyEnv;
      const pk = process.env[envName];
      if (!pk || !/^0x[0-9a-fA-F]{64}$/.test(pk))
        throw new Error(`put the 0x-prefixed private key (64 hex digits) in the environment variable ${envName}`);
      if (existsSync(path)) throw new Error(`${path} exists; use \`keys rotate\` to replace it`);
      const account = createKeystore(path, password(cfg), { privateKey: pk as `0x${string}` });
      console.log(JSON.stringify({ keystore: path, address: account.address }));
      return;
    }
    case "keys show": {
      const address = keystoreAddress(path) ?? (await openNodeKeystore(path, cfg)).address;
      console.log(JSON.stringify({ keystore: path, address }));
      return;
    }
    case "keys rotate": {
      if (existsSync(resolve(cfg.dataDir)))
        takeDataDir(
          resolve(cfg.dataDir),
          "keys rotate",
          ", then rotate; the rotation resets batches a running node may be submitting",
        );
      const newPassword = password(cfg);
      const old = existsSync(path) ? (await openNodeKeystore(path, cfg)).address : null;
      // reset before the old key is replaced: a rotation cut short leaves pinned batches and the old key, which signs them again
      const reset = await resetSignedBatches(cfg);
      const { rotateKeystore } = await import("../chain/keystore.ts");
      let rotated: ReturnType<typeof rotateKeystore>;
      try {
        // the old keystore stays in place until the new one is on disk (then kept as .bak)
        rotated = rotateKeystore(path, newPassword);
      } catch (err) {
        throw new Error(
          `${(err as Error).message}${reset ? `; ${reset} batch(es) signed with the old key went back to pinned: a node started now signs them again with the key ${path} holds` : ""}`,
          { cause: err },
        );
      }
      const { account, archived } = rotated;
      console.log(
        JSON.stringify({
          keystore: path,
          previous: old,
          archived,
          address: account.address,
          resetBatches: reset,
          next: `ask the OracleSet admin to addNode(${account.address})${old ? ` and removeNode(${old})` : ""}; ${reset} batch(es) signed with the previous key and not submitted went back to pinned and are signed with the new key at the next start`,
        }),
      );
      return;
    }
    case "keys api-create": {
      const scope = stringOption(args, "scope") as ApiScope;
      const subject = stringOption(args, "subject")!;
      const { createApiKey } = await import("../api/keys.ts");
      const storage = await openStorage(cfg);
      try {
        console.log(
          JSON.stringify(
            createApiKey(storage, {
              scope,
              subject,
              label: stringOption(args, "label"),
            }),
          ),
        );
      } finally {
        storage.close();
      }
      return;
    }
    case "keys api-list": {
      const storage = await openStorage(cfg);
      try {
        for (const k of storage.listApiKeys()) console.log(JSON.stringify({ ...k, hash: undefined }));
      } finally {
        storage.close();
      }
      return;
    }
    case "keys api-revoke": {
      const id = Number(args.rest[0]);
      const storage = await openStorage(cfg);
      try {
        const revoked = storage.revokeApiKey(id, Date.now());
        console.log(JSON.stringify({ id, revoked }));
        if (!revoked) {
          process.stderr.write(
            `carbonproof-oracle: no active API key with id ${id}: \`keys api-list\` shows the ids\n`,
          );
          process.exitCode = 1;
        }
      } finally {
        storage.close();
      }
      return;
    }
  }
}

/**
 * Removes the stdin spool files (`import-stdin.<pid>.csv`) that imports killed outright (SIGKILL,
 * a power cut) left in `dataDir`: those whose process is gone. A running import's is kept.
 */
function removeStaleSpools(dataDir: string): void {
  let names: string[];
  try {
    names = readdirSync(dataDir);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^import-stdin\.([0-9]+)\.csv$/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && !processAlive(pid)) rmSync(join(dataDir, name), { force: true });
  }
}

/** Copies stdin to a new file at `path` (refused if it exists), reporting the bytes copied so far. */
async function spoolStdin(path: string, signal: AbortSignal, onBytes: (bytes: number) => void): Promise<void> {
  const { createWriteStream } = await import("node:fs");
  const { pipeline } = await import("node:stream/promises");
  mkdirSync(dirname(path), { recursive: true });
  let bytes = 0;
  await pipeline(
    process.stdin,
    async function* (source: AsyncIterable<Buffer>) {
      for await (const piece of source) {
        bytes += piece.byteLength;
        onBytes(bytes);
        yield piece;
      }
    },
    createWriteStream(path, { flags: "wx" }),
    { signal },
  );
}

async function main(): Promise<void> {
  const args = parseCommandLine(process.argv.slice(2));
  if (!args) return;
  const deadlineS = args.command === "start" ? shutdownTimeoutS(args) : 0;
  const cfg = await config(configFileOf(args));
  switch (args.command) {
    case "start":
      return start(cfg, deadlineS);
    case "status": {
      const db = join(resolve(cfg.dataDir), "oracle.db");
      if (!hasDatabase(cfg))
        throw new Error(`no database at ${db}: check dataDir (or --config), or start the node once to create it`);
      const { holdsLaterBatches } = await import("../storage/types.ts");
      const storage = await openStorage(cfg);
      try {
        const { urlForMessages } = await import("../url-scrub.ts");
        // the batches that hold later ones back first, as many as an operator could act on; then
        // the newest other failures. Abandoned ones stay failed for ever and are only counted: in
        // period order they would fill the list and hide a new failure.
        const failed = storage.failedBatches({ holding: 100, others: 20 });
        const out = {
          node: cfg.nodeName,
          // which database this is: the SQLite file, or the PostgreSQL URL without its password
          storage: cfg.storage.driver === "postgres" ? urlForMessages(cfg.storage.url ?? "", "storage.url") : db,
          backlog: storage.backlog(),
          batches: storage.batchStateCounts(),
          // failed batches holding back their facility's later ones (`retry` or `abandon` them), as in /v1/status
          holding: failed.counts.holding,
          // of the `signed` ones, those retried to be taken as the record of their period's attestation
          awaitingAdoption: storage.countAwaitingAdoption(),
          deadLetters: storage.countDeadLetters(),
          failed: [...failed.holding, ...failed.others].map((b) => ({
            id: b.id,
            facility: b.facilityId,
            readings: b.readingCount,
            // true: its facility's later regular batches wait for `retry` or `abandon` of it
            holdsLater: holdsLaterBatches(b),
            // when the operator abandoned it (ms), or null
            abandonedAt: b.abandonedAt,
            // when it failed (ms)
            updatedAtMs: b.updatedAtMs,
            error: b.error,
          })),
          // the failed batches `failed` leaves out: holding ones past the first 100, other ones
          // past the newest 20, and every abandoned one (GET /v1/batches?state=failed lists them in period order)
          failedNotListed: {
            holding: failed.counts.holding - failed.holding.length,
            others: failed.counts.others - failed.others.length,
            abandoned: failed.counts.abandoned,
          },
        };
        console.log(JSON.stringify(out, null, 2));
      } finally {
        storage.close();
      }
      return;
    }
    case "retry":
      return retry(cfg, args.values.all === true ? null : args.rest.map(Number));
    case "copy-from-sqlite":
      return copyFromSqlite(cfg, args.rest[0]!, args.values["dry-run"] === true);
    case "backup":
    case "restore":
      return backupOrRestore(cfg, args.command, args.rest[0]!, {
        force: args.values.force === true,
        content: typeof args.values.content === "string" ? args.values.content : null,
      });
    case "abandon":
      return abandon(cfg, Number(args.rest[0]));
    case "pin":
      return pin(cfg, args.rest, configFileOf(args));
    case "cosigned list":
    case "cosigned release":
      return cosigned(args.command, cfg, args);
    case "import": {
      const given = args.rest[0]!;
      const fromStdin = given === "-";
      if (!fromStdin && !existsSync(given))
        throw new Error(`no CSV file at ${resolve(given)}: check the path given to \`import\` (\`-\` reads stdin)`);
      // `import -`: stdin is copied to a file in the data dir first (the import reads its file
      // twice: a check pass, then the rows), removed when the import ends
      const file = fromStdin ? join(resolve(cfg.dataDir), `import-stdin.${process.pid}.csv`) : given;
      if (fromStdin) removeStaleSpools(resolve(cfg.dataDir));
      const { createReadStream } = await import("node:fs");
      const { pino } = await import("pino");
      const { ImportStoppedError, importCsv } = await import("../ingest/csv.ts");
      const { ProgressLine, formatCount } = await import("../../../sdk/src/cli/progress.ts");
      const json = args.values.json === true;
      // the report is written as rows are decided (a file of millions of rows is never held), and
      // the writer waits when stdout's reader is slower than the import
      const write = async (text: string) => {
        if (!process.stdout.write(text)) await new Promise((go) => process.stdout.once("drain", go));
      };
      // progress goes to stderr only: rewritten in place on a terminal, otherwise a line every 5 s
      const newProgress = () =>
        new ProgressLine({ write: (t) => process.stderr.write(t), tty: process.stderr.isTTY === true });
      let progress = newProgress();
      let total = 0;
      let reported = 0;
      const summary = (c: ImportCounts) =>
        `${c.stored} stored, ${c.alreadyStored > 0 ? `${c.alreadyStored} already stored, ` : ""}${c.rejected} rejected of ${c.rows} rows`;
      // --json: the one object, {"rows":[…],"stored":n,"alreadyStored":n,"rejected":n}, and "error"
      // when the import stopped half-way, so that what was stored is on record either way
      const closing = (c: ImportCounts, error?: object) =>
        `${reported === 0 ? '{"rows":[' : ""}],"stored":${c.stored},"alreadyStored":${c.alreadyStored},"rejected":${c.rejected}${error ? `,"error":${JSON.stringify(error)}` : ""}}\n`;
      // SIGINT/SIGTERM: stop at the next chunk boundary and close the report with what was
      // decided (exit 130/143); a second signal exits at once, the report then left open
      const interrupt = new AbortController();
      let signalled: NodeJS.Signals | null = null;
      const onSignal = (signal: NodeJS.Signals) => {
        if (signalled) {
          if (fromStdin) rmSync(file, { force: true });
          process.exit(signal === "SIGINT" ? 130 : 143);
        }
        signalled = signal;
        interrupt.abort();
        progress.log(
          `carbonproof-oracle: ${signal}: stopping the import after the rows in hand (a second signal exits at once)\n`,
        );
      };
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
      // a forgotten --config imports into ./.carbonproof/oracle: said, not refused (importing
      // history before the node's first start is how a node begins)
      if (!hasDatabase(cfg))
        progress.log(
          `import: no database at ${join(resolve(cfg.dataDir), "oracle.db")} yet: creating one (if these rows are for an existing node, stop and give its --config or dataDir)\n`,
        );
      let counts;
      try {
        if (fromStdin) {
          if (process.stdin.isTTY) progress.log("import: reading CSV from the terminal; end it with Ctrl-D\n");
          await spoolStdin(file, interrupt.signal, (bytes) =>
            progress.update(() => `import: reading stdin, ${formatCount(bytes)} bytes`),
          ).catch((err: unknown) => {
            if (!interrupt.signal.aborted) throw err;
            throw new ImportStoppedError(
              "INTERRUPTED",
              "the import was interrupted while stdin was read: nothing was stored",
              { rows: 0, stored: 0, alreadyStored: 0, rejected: 0 },
            );
          });
        }
        counts = await importCsv({
          signal: interrupt.signal,
          config: cfg,
          // stderr: stdout is the report (one JSON object with --json)
          logger: pino({ level: "warn", base: { node: cfg.nodeName, part: "import" } }, pino.destination(2)),
          calculator: await calculator(cfg),
          source: () => createReadStream(file, { highWaterMark: 65_536 }),
          onChecking: (rows) =>
            progress.update(() => `import: checking the file is CSV, ${formatCount(rows)} rows read`),
          onChecked: (rows) => {
            total = rows;
            progress.done();
            progress = newProgress(); // rows/s of the import itself, not of the check
          },
          onRows: async (rows, sofar) => {
            await write(
              json
                ? rows.map((r) => `${reported++ === 0 ? '{"rows":[' : ","}${JSON.stringify(r)}`).join("")
                : rows
                    .map(
                      (r) =>
                        `row ${r.row}: ${r.status === "rejected" ? `rejected ${r.reason}: ${r.detail}` : `${r.status === "stored" ? "stored" : "already stored"} ${r.digest}`}\n`,
                    )
                    .join(""),
            );
            progress.update(
              () =>
                `import: ${formatCount(sofar.rows)} of ${formatCount(total)} rows (${Math.floor((100 * sofar.rows) / Math.max(total, 1))}%), ${formatCount(sofar.stored)} stored, ${sofar.alreadyStored > 0 ? `${formatCount(sofar.alreadyStored)} already stored, ` : ""}${formatCount(sofar.rejected)} rejected, ${formatCount(progress.rate(sofar.rows))} rows/s`,
            );
          },
        });
      } catch (err) {
        progress.done();
        if (!(err instanceof ImportStoppedError)) throw err;
        // what was decided before the stop is reported in full, then the reason, on stderr too
        await write(
          json
            ? closing(err.counts, { code: err.code, message: err.message })
            : `${summary(err.counts)}, then stopped\n`,
        );
        process.stderr.write(`carbonproof-oracle: ${err.message}\n`);
        process.exitCode = err.code === "INTERRUPTED" ? (signalled === "SIGTERM" ? 143 : 130) : 1;
        return;
      } finally {
        if (fromStdin) rmSync(file, { force: true });
      }
      progress.done();
      await write(json ? closing(counts) : `${summary(counts)}\n`);
      process.exitCode = counts.rejected > 0 ? 1 : 0;
      return;
    }
    default:
      return keys(args.command, cfg, args);
  }
}

main().catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(
      `carbonproof-oracle: ${err.message}\nusage: carbonproof-oracle ${err.command && COMMANDS[err.command] ? COMMANDS[err.command]!.usage : `${err.command ?? "<command>"} [options]`}\nRun \`carbonproof-oracle ${err.command ? `${err.command} ` : ""}--help\` for every command and option.\n`,
    );
    process.exit(2);
  }
  if (ConfigErrorClass && err instanceof ConfigErrorClass) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`carbonproof-oracle: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
