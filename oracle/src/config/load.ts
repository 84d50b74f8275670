import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { FACTOR_SET_FORMAT, SdkError, parseFactorSet, type FactorSet } from "../../../sdk/src/index.ts";
import { PATH_SETTINGS, configSchema, settingsAt, type Config } from "./schema.ts";

/** A configuration that does not parse: the message lists every offending key and what to do. */
export class ConfigError extends Error {
  readonly code = "CONFIG_INVALID";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ConfigError";
  }
}

/** Prefix of environment overrides: `CARBONPROOF_ORACLE__HTTP__PORT=9000` sets `http.port`. */
export const ENV_PREFIX = "CARBONPROOF_ORACLE__";

function camel(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/**
 * The variable that sets the setting at `path` (the inverse of {@link envOverrides}' names:
 * `mqtt.requireAuth` is CARBONPROOF_ORACLE__MQTT__REQUIRE_AUTH), or undefined when no variable's
 * name can hold it (a facility id with `-` or `.`, a list's item).
 */
export function envName(path: readonly PropertyKey[]): string | undefined {
  if (!path.every((key) => typeof key === "string" && /^[A-Za-z0-9_]+$/.test(key))) return undefined;
  return (
    ENV_PREFIX +
    path
      .map((key) =>
        String(key)
          .replace(/[A-Z]/g, (c) => `_${c}`)
          .toUpperCase(),
      )
      .join("__")
  );
}

/** Environment overrides as a nested object; values are JSON when they parse as JSON, else strings. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const overrides: { path: string[]; raw: string }[] = [];
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    // a facility's id is a key, not a setting's name: lower-cased, its underscores kept
    // (`…__FACILITIES__PLANT_1__COUNTRY` sets facilities["plant_1"].country, not "plant1"; the
    // segment `facilities` in any case, as every setting's name)
    const path = name
      .slice(ENV_PREFIX.length)
      .split("__")
      .map((segment, i, all) => (i === 1 && camel(all[0]!) === "facilities" ? segment.toLowerCase() : camel(segment)));
    overrides.push({ path, raw });
  }
  // the less specific first (a stable sort keeps the environment's order otherwise): a variable
  // naming a whole section with a JSON object (CARBONPROOF_ORACLE__FACILITIES='{"tea-1":…}') would
  // otherwise replace the keys a more specific one (…__FACILITIES__PLANT_1__COUNTRY) set before it,
  // when the environment happens to list that one first
  overrides.sort((a, b) => a.path.length - b.path.length);
  for (const { path, raw } of overrides) {
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw; // a plain string value such as a URL or a path
    }
    let node = out;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      node = (typeof next === "object" && next !== null ? next : (node[key] = {})) as Record<string, unknown>;
    }
    node[path.at(-1)!] = value;
  }
  return out;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function merge(base: unknown, over: unknown): unknown {
  if (!isRecord(base) || !isRecord(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

/**
 * `fromFile` (a config file's parsed JSON) with each relative {@link PATH_SETTINGS} value made
 * absolute against `dir`, the file's directory: the rule is stated once, beside PATH_SETTINGS.
 * Values that are not non-empty strings are left for the schema to refuse.
 */
function resolveFilePaths(fromFile: unknown, dir: string): unknown {
  if (!isRecord(fromFile)) return fromFile;
  const out = structuredClone(fromFile);
  for (const setting of PATH_SETTINGS) {
    const keys = setting.split(".");
    const last = keys.pop()!;
    let node: unknown = out;
    for (const key of keys) node = isRecord(node) ? node[key] : undefined;
    if (!isRecord(node)) continue;
    const value = node[last];
    if (typeof value === "string" && value !== "" && !isAbsolute(value)) node[last] = resolve(dir, value);
  }
  return out;
}

/** Edit distance of `a` and `b` (Levenshtein: letters inserted, deleted or replaced). */
function distance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++)
      next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * The setting among `known` that `key` most likely means: the same name but for case and `_`
 * (an environment variable's words run together, REQUIREAUTH read as `requireauth`), a name one
 * or two letters off, or one that `key` begins with (`requireAuthentication`).
 */
function resembling(key: string, known: readonly string[]): string | undefined {
  const plain = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const k = plain(key);
  const near = known
    .map((s) => ({ s, d: distance(plain(s), k) }))
    .filter(({ d }) => d <= (k.length > 5 ? 2 : 1))
    .sort((a, b) => a.d - b.d)[0]?.s;
  return near ?? known.find((s) => plain(s).length >= 4 && k.startsWith(plain(s)));
}

/** What to say of `key`, found at `path` where the schema has no such setting. */
function unknownSetting(path: readonly PropertyKey[], key: string): string {
  const known = settingsAt(path);
  const meant = resembling(key, known);
  if (meant !== undefined) {
    const variable = envName([...path, meant]);
    return `no such setting: did you mean ${[...path, meant].join(".")}${variable ? ` (${variable} in the environment)` : ""}?`;
  }
  if (known.length === 0) return "no such setting: correct its name or remove it";
  const where = path.length === 0 ? "the top level" : path.join(".");
  return `no such setting (the settings of ${where} are ${known.join(", ")}): correct its name or remove it`;
}

/** Parses an already merged object; throws {@link ConfigError} with one line per problem. */
export function parseConfig(input: unknown, source = "configuration"): Config {
  const r = configSchema.safeParse(input);
  if (r.success) return r.data;
  // a record's key refused: zod says "Invalid key in record" and nests the key schema's own words
  const message = (i: (typeof r.error.issues)[number]): string =>
    i.code === "invalid_key" && i.issues.length > 0 ? i.issues.map((n) => n.message).join("; ") : i.message;
  // a key the schema does not have (every object is strict, schema.ts): a line for each, named by its path
  const lines = r.error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((key) => `  - ${[...i.path, key].join(".")}: ${unknownSetting(i.path, key)}`)
      : [`  - ${i.path.join(".") || "(root)"}: ${message(i)}`],
  );
  // an environment value is JSON when it parses as JSON: 123456 is a number, a bare URL a string
  const typed = r.error.issues.some(
    (i) => i.code === "invalid_type" && (i.expected === "string" || i.expected === "array"),
  );
  const unknown = r.error.issues.some((i) => i.code === "unrecognized_keys");
  const hint =
    (typed
      ? `\nAn ${ENV_PREFIX}* value is read as JSON when it is JSON: quote a text that looks like a number or true/false ('"123456"'), and write a list as JSON ('["https://a.example"]').`
      : "") +
    (unknown
      ? `\nA ${ENV_PREFIX}* variable names a setting's path in upper case, sections joined by __ and a name's words by _ (${envName(["mqtt", "requireAuth"])} sets mqtt.requireAuth).`
      : "");
  throw new ConfigError(
    `${source} is invalid:\n${lines.join("\n")}\nFix these keys in the config file or the ${ENV_PREFIX}* environment variables (docs/oracle.md lists them).${hint}`,
    { cause: r.error },
  );
}

/**
 * Loads the config file (JSON, optional), applies environment overrides, then `overrides`, and
 * validates. Relative paths in the file are made absolute against the file's directory first
 * ({@link PATH_SETTINGS}); those from the environment and `overrides` stay relative to the working
 * directory.
 */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: unknown } = {}): Config {
  let fromFile: unknown = {};
  let written: unknown;
  if (opts.file) {
    let text: string;
    try {
      text = readFileSync(opts.file, "utf8");
    } catch (cause) {
      throw new ConfigError(`cannot read config file ${opts.file}: check the path given with --config`, { cause });
    }
    try {
      fromFile = JSON.parse(text);
    } catch (cause) {
      throw new ConfigError(`config file ${opts.file} is not valid JSON: ${(cause as Error).message}`, { cause });
    }
    written = isRecord(fromFile) ? fromFile.dataDir : undefined;
    fromFile = resolveFilePaths(fromFile, dirname(resolve(opts.file)));
  }
  const merged = merge(merge(fromFile, envOverrides(opts.env ?? process.env)), opts.overrides ?? {});
  const config = parseConfig(merged, opts.file ? `config (${opts.file} + environment)` : "config (environment)");
  if (opts.file) refuseMovedDataDir(written, config, opts.file);
  return config;
}

/**
 * Relative paths in a config file were once taken from the working directory. A node whose file
 * names a relative `dataDir` and that was started from another directory than the file's would now
 * open an empty data dir: a new database that no longer knows which readings it stored and
 * attested, so it would take and attest them again. Stops with what to do instead, while the old
 * data dir (relative to the working directory) has a database and the new one has none.
 */
function refuseMovedDataDir(written: unknown, config: Config, file: string): void {
  if (typeof written !== "string" || written === "" || isAbsolute(written)) return;
  const now = resolve(dirname(resolve(file)), written);
  const before = resolve(written);
  if (config.dataDir !== now || before === now) return; // dataDir from the environment, or the same place
  const db = "oracle.db"; // the database in a data dir (node.ts)
  if (!existsSync(join(before, db)) || existsSync(join(now, db))) return;
  throw new ConfigError(
    `dataDir "${written}" in ${file} is relative to the config file's directory (${now}), which has no database, while ${before} (relative to the working directory, as paths were before) has one: move ${before} to ${now}, or set dataDir to "${before}" in ${file}`,
  );
}

/**
 * The factor set named by `methodology.factorSetFile` (still relative only when it came from the
 * environment or overrides: then relative to the working directory; see {@link loadConfig}), or
 * undefined when none is set (the sdk's built-in set applies). Throws {@link ConfigError} naming
 * the file and what is wrong with it: missing, not JSON, not a factor set (each zod path), or an
 * `id` that does not match its content.
 */
export function loadFactorSetFile(config: Pick<Config, "methodology">): FactorSet | undefined {
  const setting = config.methodology.factorSetFile;
  if (setting === undefined) return undefined;
  const file = resolve(setting);
  const key = `methodology.factorSetFile (${file})`;
  const write = `write one with \`carbonproof factors show --json\` or \`carbonproof factors import --out FILE\``;
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (cause) {
    const why = (cause as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : (cause as Error).message;
    throw new ConfigError(
      `${key} cannot be read: ${why}; check the path, or leave the key out for the built-in factor set`,
      {
        cause,
      },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new ConfigError(`${key} is not valid JSON (${(cause as Error).message}): ${write}`, { cause });
  }
  try {
    return parseFactorSet(value);
  } catch (cause) {
    if (!(cause instanceof SdkError) || cause.code !== "INVALID_FACTOR_SET") throw cause;
    const issues = cause.details?.issues as { path: string; message: string }[] | undefined;
    if (issues) {
      const lines = issues.map((i) => `  - ${i.path}: ${i.message}`);
      throw new ConfigError(
        `${key} is not a valid factor set (${FACTOR_SET_FORMAT}):\n${lines.join("\n")}\nFix these fields, or ${write}.`,
        { cause },
      );
    }
    // the only other INVALID_FACTOR_SET: an `id` beside the content that is not the content's hash
    throw new ConfigError(
      `${key}: ${cause.message.replace(/^Factor set id/, "its id").replace(/\.$/, "")}: the content was changed after the id was computed; restore the file, or remove its "id" to take the content as it is (the node computes the id)`,
      { cause },
    );
  }
}
