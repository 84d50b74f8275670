import { readFileSync } from "node:fs";
import { configSchema, type Config } from "./schema.ts";

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

/** Environment overrides as a nested object; values are JSON when they parse as JSON, else strings. */
export function envOverrides(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, raw] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || raw === undefined) continue;
    const path = name.slice(ENV_PREFIX.length).split("__").map(camel);
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

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== "object" || base === null || Array.isArray(base)) return over;
  if (typeof over !== "object" || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

/** Parses an already merged object; throws {@link ConfigError} with one line per problem. */
export function parseConfig(input: unknown, source = "configuration"): Config {
  const r = configSchema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => `  - ${i.path.join(".") || "(root)"}: ${i.message}`);
  throw new ConfigError(
    `${source} is invalid:\n${lines.join("\n")}\nFix these keys in the config file or the ${ENV_PREFIX}* environment variables (docs/oracle.md lists them).`,
    { cause: r.error },
  );
}

/** Loads the config file (JSON, optional), applies environment overrides, validates. */
export function loadConfig(opts: { file?: string; env?: NodeJS.ProcessEnv; overrides?: unknown } = {}): Config {
  let fromFile: unknown = {};
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
  }
  const merged = merge(merge(fromFile, envOverrides(opts.env ?? process.env)), opts.overrides ?? {});
  return parseConfig(merged, opts.file ? `config (${opts.file} + environment)` : "config (environment)");
}
