import type { Envelope } from "../../../sdk/src/index.ts";

/**
 * What the simulator does with a batch after `POST /v1/readings`:
 * - `done`: the node answered for every reading (2xx, or 422 for a single envelope it rejected);
 *   the batch leaves the buffer, rejected readings are in the node's dead letters.
 * - `retry`: nothing is known to be stored (429, 5xx, a connection error); the batch stays
 *   buffered and is re-sent after `afterMs` when the node said how long (Retry-After).
 * - `split`: the body was too large (413); the batch stays buffered and is re-sent in halves.
 */
export type PostVerdict = { kind: "done" } | { kind: "retry"; why: string; afterMs?: number } | { kind: "split" };

/** A refusal that re-sending cannot fix (wrong API key, wrong URL): the simulator stops with `message`. */
export class SimHttpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "SimHttpError";
    this.code = code;
  }
}

/** Retry-After in milliseconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (!header) return undefined;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** POSTs one batch (one envelope as itself, more as an array) and says what became of it; throws {@link SimHttpError} when re-sending cannot help. */
export async function postReadings(
  baseUrl: string,
  apiKey: string | undefined,
  envs: Envelope[],
  nowMs: () => number = Date.now,
): Promise<PostVerdict> {
  let res: Response;
  try {
    res = await fetch(`${baseUrl}/v1/readings`, {
      method: "POST",
      headers: { "content-type": "application/json", ...(apiKey ? { "x-api-key": apiKey } : {}) },
      body: JSON.stringify(envs.length === 1 ? envs[0] : envs),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause;
    return { kind: "retry", why: `cannot reach ${baseUrl}: ${cause?.message ?? (err as Error).message}` };
  }
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) return { kind: "done" };
  // a single envelope the node rejected for good (dead-lettered with its reason): re-sending would not change it
  if (res.status === 422 && envs.length === 1) return { kind: "done" };
  if (res.status === 429 || res.status >= 500)
    return { kind: "retry", why: `HTTP ${res.status}`, afterMs: retryAfterMs(res.headers.get("retry-after"), nowMs()) };
  if (res.status === 413 && envs.length > 1) return { kind: "split" };
  const said = nodeMessage(text);
  if (res.status === 401)
    throw new SimHttpError(
      "SIM_HTTP_UNAUTHORIZED",
      `the node refused the API key (HTTP 401${said}): give a facility or device API key with --api-key or CARBONPROOF_SIM_API_KEY (create one with POST /v1/admin/api-keys), or run the node with http.openIngest`,
    );
  if (res.status === 403)
    throw new SimHttpError(
      "SIM_HTTP_FORBIDDEN",
      `the node does not let this API key submit readings (HTTP 403${said}): use a facility or device key, not an oracle key`,
    );
  if (res.status === 413)
    throw new SimHttpError(
      "SIM_HTTP_TOO_LARGE",
      `the node refuses even one reading as too large (HTTP 413${said}): raise http.bodyLimitBytes on the node`,
    );
  throw new SimHttpError(
    "SIM_HTTP_REFUSED",
    `the node answered HTTP ${res.status}${said} to POST ${baseUrl}/v1/readings: check --http (the node's base URL, e.g. http://127.0.0.1:8787)`,
  );
}

function nodeMessage(body: string): string {
  try {
    const j = JSON.parse(body) as { message?: unknown };
    return typeof j.message === "string" ? `: ${j.message.slice(0, 200)}` : "";
  } catch {
    return ""; // not the node's JSON error (a proxy's page): the status says enough
  }
}

/** Exponential backoff with jitter between re-sends, reset by a success; Retry-After, when given, wins. */
export class Backoff {
  #failures = 0;
  readonly baseMs: number;
  readonly maxMs: number;
  constructor(baseMs = 500, maxMs = 30_000) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
  }
  /** milliseconds to wait before the next attempt after a failure */
  next(retryAfter?: number): number {
    this.#failures++;
    if (retryAfter !== undefined) return Math.min(retryAfter, 10 * this.maxMs);
    const ms = Math.min(this.maxMs, this.baseMs * 2 ** (this.#failures - 1));
    return Math.round(ms / 2 + (Math.random() * ms) / 2);
  }
  reset(): void {
    this.#failures = 0;
  }
}
