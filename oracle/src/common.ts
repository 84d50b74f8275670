import { pino, type Logger } from "pino";
import type { Config } from "./config/schema.ts";
import { createMetrics, type Metrics } from "./metrics/metrics.ts";
import { nodeScrubber } from "./url-scrub.ts";

/** Stops the node: one AbortSignal every loop watches, and hooks run in reverse order of registration. */
export class Shutdown {
  readonly controller = new AbortController();
  readonly #hooks: Array<{ name: string; fn: () => Promise<void> | void }> = [];
  get signal(): AbortSignal {
    return this.controller.signal;
  }
  get aborted(): boolean {
    return this.controller.signal.aborted;
  }
  #closing: string | null = null;
  add(name: string, fn: () => Promise<void> | void): void {
    this.#hooks.push({ name, fn });
  }
  /** Parts not closed yet, the one closing now first: what a shutdown past its deadline names. */
  get open(): string[] {
    return [...(this.#closing ? [this.#closing] : []), ...this.#hooks.map((h) => h.name).reverse()];
  }
  /** Aborts, then runs every hook (last registered first); errors are collected, not swallowed. */
  async run(logger?: Logger): Promise<void> {
    if (!this.controller.signal.aborted) this.controller.abort(new Error("shutdown"));
    const errors: unknown[] = [];
    while (this.#hooks.length) {
      const h = this.#hooks.pop()!;
      this.#closing = h.name;
      logger?.debug({ hook: h.name }, "shutdown: closing");
      try {
        await h.fn();
      } catch (err) {
        logger?.error({ err, hook: h.name }, "shutdown hook failed");
        errors.push(err);
      }
      this.#closing = null;
    }
    if (errors.length) throw new AggregateError(errors, "some shutdown hooks failed");
  }
}

export type Clock = { nowMs(): number };
export const systemClock: Clock = { nowMs: () => Date.now() };

/** What every part of the node receives: config, logger, metrics, shutdown, clock (Ponder's `common`). */
export type Common = {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  shutdown: Shutdown;
  clock: Clock;
  /**
   * `text` with the configured URLs that may hold a secret written as scheme, host and port, then
   * any other URL too (url-scrub.ts, `nodeScrubber`): for what the node stores or answers from an
   * error (batch errors are public).
   */
  scrub(text: string): string;
};

export function createCommon(
  config: Config,
  opts: { logger?: Logger; clock?: Clock; defaultMetrics?: boolean } = {},
): Common {
  const scrub = nodeScrubber(config);
  const base =
    opts.logger ??
    pino({
      level: config.log.level,
      base: { node: config.nodeName },
      redact: ["privateKey", "password", "*.privateKey", "*.password"],
    });
  // an error logged as `err` (an Error, or its message) may quote the URL it called
  const logger = base.child({}, { serializers: { err: (err: unknown) => scrubbedErr(err, scrub) } });
  return {
    config,
    logger,
    scrub,
    metrics: createMetrics({ defaultMetrics: opts.defaultMetrics }),
    shutdown: new Shutdown(),
    clock: opts.clock ?? systemClock,
  };
}

/** pino's `err` serializer, then `scrub` over its text (message, stack, causes and any string field). */
function scrubbedErr(err: unknown, scrub: (text: string) => string): unknown {
  if (typeof err === "string") return scrub(err);
  if (!(err instanceof Error)) return err;
  const walk = (v: unknown, depth: number): unknown => {
    if (typeof v === "string") return scrub(v);
    if (depth > 4 || typeof v !== "object" || v === null) return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, depth + 1)]));
  };
  return walk(pino.stdSerializers.err(err), 0);
}
