import { createHash } from "node:crypto";
import Fastify, {
  LogController,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
  type FastifySchemaValidationError,
} from "fastify";
import multipart from "@fastify/multipart";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { envelopeSchema, formatIssues } from "../../../sdk/src/index.ts";
import type { Common } from "../common.ts";
import { IngestError, type Ingestor } from "../ingest/ingestor.ts";
import type { ContentStore } from "../ipfs/store.ts";
import type { CosignRequest } from "../quorum/cosign.ts";
import type { CosignAsker } from "../quorum/cosigner.ts";
import type { ProofService } from "../batch/proofs.ts";
import type { ApiKey, Batch, IngestOutcome, OperatorRefusal, Storage, StoredReading } from "../storage/types.ts";
import { BatchOperator, registryReader, type OperatorResult } from "../batch/operator.ts";
import { BATCH_STATES, DEVICE_HEALTH_MAX_LIMIT, REJECT_REASONS } from "../storage/types.ts";
import { textFieldProblem } from "../text.ts";
import type { ShortfallStatus } from "../credits/shortfalls.ts";
import { adminTokenMatches, authenticate, createApiKey } from "./keys.ts";

export type ApiDeps = {
  common: Common;
  storage: Storage;
  ingestor: Ingestor;
  proofs: ProofService;
  content: () => ContentStore | null;
  /** Readiness of the parts the node depends on (storage, MQTT, IPFS, chain). */
  readiness: () => Record<string, boolean>;
  /**
   * Co-signing for another oracle node's batch (quorum/cosign.ts): the signature, or why this node
   * refuses; null when this node has no chain key to sign with.
   */
  cosign?:
    | ((
        req: CosignRequest,
        /** the key the request came with: an `oracle` key asks only for its own node's headers (quorum/cosigner.ts) */
        asker: CosignAsker,
        /** aborted when the requester closed its request before the answer (quorum/cosigner.ts stops a review nobody waits for) */
        signal?: AbortSignal,
      ) => Promise<{ signer: string; signature: string } | { refused: string; status?: number; error?: string }>)
    | null;
  /** The shortfall recorder's state (credits/shortfalls.ts); null when it does not run. */
  shortfalls?: () => ShortfallStatus | null;
};

declare module "fastify" {
  interface FastifyRequest {
    apiKey?: ApiKey | null;
  }
}

const errorSchema = {
  type: "object",
  properties: { error: { type: "string" }, message: { type: "string" } },
} as const;

const outcomeSchema = {
  type: "object",
  properties: {
    status: { type: "string", enum: ["stored", "rejected"] },
    digest: { type: "string" },
    batchId: { type: "integer" },
    reason: { type: "string", enum: [...REJECT_REASONS] },
    detail: { type: "string" },
    deadLetterId: { type: "integer" },
  },
} as const;

class MalformedBody {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** How much of an oversized body its dead letter keeps. */
const OVERSIZED_HEAD_BYTES = 4096;
/**
 * How long POST /v1/admin/batches/retry-all goes on starting retries by default: under the 30 s
 * many HTTP clients and proxies wait for an answer, each retry of a batch the registry has attested
 * past searching its events (up to ~130 RPC calls).
 */
export const RETRY_ALL_BUDGET_MS = 20_000;

/** A JSON body over the route's limit: its first bytes and its length (declared, or as read). */
class OversizedBody {
  readonly head: Buffer;
  readonly totalBytes: number;
  readonly limitBytes: number;
  constructor(head: Buffer, totalBytes: number, limitBytes: number) {
    this.head = head;
    this.totalBytes = totalBytes;
    this.limitBytes = limitBytes;
  }
}

function presentedKey(req: FastifyRequest): string | undefined {
  const h = req.headers["x-api-key"];
  if (typeof h === "string") return h;
  const auth = req.headers.authorization;
  if (auth?.startsWith("Bearer ")) return auth.slice(7);
  return undefined;
}

function readingView(r: StoredReading) {
  return {
    digest: r.digest,
    deviceId: r.deviceId,
    facilityId: r.facilityId,
    seq: r.seq,
    ts: r.ts,
    kind: r.kind,
    reading: JSON.parse(r.canonical) as unknown,
    sig: r.sig,
    keyId: r.keyId,
    source: r.source,
    receivedAtMs: r.receivedAtMs,
    anomalyScore: r.anomalyScore,
    flagged: r.flagged,
    result: {
      fossilCo2eMg: r.fossilMg.toString(),
      biogenicCo2Mg: r.biogenicMg.toString(),
      methodologyId: r.methodologyId,
      factorSetId: r.factorSetId,
      detail: JSON.parse(r.resultJson) as unknown,
    },
    batchId: r.batchId,
  };
}

export function batchView(b: Batch) {
  return {
    id: b.id,
    facilityId: b.facilityId,
    periodStart: b.periodStart,
    periodEnd: b.periodEnd,
    correctionOfBatch: b.correctionOfBatch,
    state: b.state,
    readingCount: b.readingCount,
    merkleRoot: b.merkleRoot,
    fossilCo2eGrams: b.fossilCo2eGrams,
    biogenicCo2Grams: b.biogenicCo2Grams,
    methodologyId: b.methodologyId,
    factorSetId: b.factorSetId,
    bundleCid: b.bundleCid,
    header: b.headerJson ? (JSON.parse(b.headerJson) as unknown) : null,
    attestationId: b.attestationId,
    txHash: b.txHash,
    blockNumber: b.blockNumber,
    error: b.error,
    abandonedAt: b.abandonedAt,
    attempts: b.attempts,
    updatedAtMs: b.updatedAtMs,
  };
}

/**
 * GET /v1/batches lists in period order, then id (storage.listBatches), so its cursor is both:
 * `<periodStart>:<id>` of a page's last batch. Not the id alone: a correction, or another
 * facility's batch, may have a later id than batches of later periods.
 */
type BatchCursor = { periodStart: number; id: number };
const BATCH_CURSOR_PATTERN = "^(0|[1-9][0-9]{0,15}):[1-9][0-9]{0,15}$";
const BATCH_CURSOR_RE = new RegExp(BATCH_CURSOR_PATTERN);

function batchCursor(b: Pick<Batch, "periodStart" | "id">): string {
  return `${b.periodStart}:${b.id}`;
}

/** The place `after` names, or null when it is not a cursor (the pattern lets 16 digits past 2^53). */
function parseBatchCursor(raw: string): BatchCursor | null {
  if (!BATCH_CURSOR_RE.test(raw)) return null;
  const [periodStart, id] = raw.split(":").map(Number) as [number, number];
  return Number.isSafeInteger(periodStart) && Number.isSafeInteger(id) ? { periodStart, id } : null;
}

/**
 * The node's HTTP API (fastify): ingest, auditor proofs, dead letters, manual entries with
 * evidence, batches, keys, health/readiness/metrics, OpenAPI at /docs/json and UI at /docs.
 */
export async function buildApi(deps: ApiDeps) {
  const { common, storage, ingestor, proofs } = deps;
  const cfg = common.config.http;
  const app = Fastify({
    loggerInstance: common.logger.child({ part: "http" }),
    // no per-request log lines (fastify 6 drops the top-level disableRequestLogging for this)
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: cfg.bodyLimitBytes,
    trustProxy: false,
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: "CarbonProof oracle node",
        version: "1",
        description:
          "Ingests signed sensor readings, validates and stores them, and serves what auditors need to trace a reading to its on-chain attestation. See docs/oracle.md.",
      },
      components: {
        securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "x-api-key" } },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(rateLimit, {
    global: true,
    max: cfg.rateLimit.max,
    timeWindow: cfg.rateLimit.windowMs,
    // a bucket per verified key, else per client address: keyed on the key as presented, every
    // made-up `cpk_…` value would get a fresh bucket and escape the limit
    keyGenerator: (req) => {
      const presented = presentedKey(req);
      if (adminTokenMatches(presented, cfg.adminTokenSha256)) return "admin";
      const key = authenticate(storage, presented);
      return key ? `key:${key.id}` : `ip:${req.ip}`;
    },
    allowList: (req) => req.url === "/health" || req.url === "/ready" || req.url === "/metrics",
  });
  await app.register(multipart, { limits: { fileSize: cfg.evidenceMaxBytes, files: 1, fields: 10 } });

  // keep a body that is not JSON, so it is dead-lettered with its raw text rather than refused unseen
  app.removeContentTypeParser("application/json");
  // A body over the limit is not refused unseen either: its first 4 KiB and its length are kept
  // (read no further than that), so POST /v1/readings can dead-letter it as `oversized`.
  app.addContentTypeParser("application/json", (req, payload, done) => {
    const limit = req.routeOptions.bodyLimit ?? cfg.bodyLimitBytes;
    const declared = Number(req.headers["content-length"]);
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      payload.removeListener("data", onData);
      payload.removeListener("end", onEnd);
      payload.removeListener("error", onError);
    };
    const oversized = () => {
      stop();
      const head = Buffer.concat(chunks).subarray(0, OVERSIZED_HEAD_BYTES);
      done(
        null,
        new OversizedBody(head, Number.isFinite(declared) && declared > received ? declared : received, limit),
      );
    };
    const onData = (chunk: Buffer | string) => {
      const b = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      received += b.length;
      chunks.push(b);
      if (received > limit || (declared > limit && received >= OVERSIZED_HEAD_BYTES)) oversized();
    };
    const onEnd = () => {
      stop();
      if (received > limit || declared > limit) return oversized();
      const text = Buffer.concat(chunks).toString("utf8");
      try {
        done(null, JSON.parse(text));
      } catch {
        done(null, new MalformedBody(text));
      }
    };
    const onError = (err: Error) => {
      stop();
      done(err, undefined);
    };
    payload.on("data", onData);
    payload.on("end", onEnd);
    payload.on("error", onError);
  });
  // routes other than POST /v1/readings refuse an oversized body as before, with nothing recorded
  app.addHook("preValidation", async (req, reply) => {
    if (!(req.body instanceof OversizedBody) || req.routeOptions.url === "/v1/readings") return;
    await tooLarge(reply, req.body);
  });
  const tooLarge = (reply: FastifyReply, body: OversizedBody) =>
    reply
      .code(413)
      .header("connection", "close")
      .send({
        error: "FST_ERR_CTP_BODY_TOO_LARGE",
        message: `the body is ${body.totalBytes} bytes, over the limit of ${body.limitBytes}; send fewer envelopes per request`,
      });
  app.decorateRequest("apiKey", null);
  // CORS for browser clients (explorer, web app): public reads, and writes with an API key
  app.addHook("onRequest", async (req, reply) => {
    const origin = req.headers.origin;
    const allowed = cfg.corsOrigins.includes("*") ? "*" : origin && cfg.corsOrigins.includes(origin) ? origin : null;
    if (allowed) {
      reply.header("access-control-allow-origin", allowed);
      reply.header("access-control-allow-headers", "content-type, x-api-key, authorization");
      reply.header("access-control-allow-methods", "GET, POST, DELETE, OPTIONS");
      if (allowed !== "*") reply.header("vary", "origin");
    }
  });
  app.options("/*", { schema: { hide: true } }, async (_req, reply) => reply.code(204).send());
  // Ajv coerces "1e309" or "Infinity" in a query string to Infinity and lets it through as an
  // integer within bounds (a number limit then reached SQLite as a datatype mismatch, a 500): the
  // validated query and path may hold only finite numbers (an id of "1e309" reached PostgreSQL as
  // "Infinity", a 500).
  app.addHook("preHandler", async (req, reply) => {
    for (const [part, values] of [
      ["querystring", req.query],
      ["params", req.params],
    ] as const) {
      for (const [k, v] of Object.entries((values as Record<string, unknown> | undefined) ?? {})) {
        if (typeof v === "number" && !Number.isFinite(v)) {
          await reply.code(400).send({ error: "FST_ERR_VALIDATION", message: `${part}/${k} must be a finite number` });
          return;
        }
      }
    }
  });
  /**
   * A route's key check, run as its `onRequest` hook: before its body is read, so that a request
   * without a valid key is answered 401/403 without the node buffering or parsing what it sends
   * (a co-sign body may be 256 MiB; Node discards the rest unread).
   */
  const requireKey =
    (scopes: ApiKey["scope"][]) =>
    async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      const presented = presentedKey(req);
      if (adminTokenMatches(presented, cfg.adminTokenSha256)) {
        req.apiKey = {
          id: 0,
          label: "admin token",
          scope: "admin",
          subject: "*",
          hash: "",
          createdAtMs: 0,
          revokedAtMs: null,
        };
        return;
      }
      const key = authenticate(storage, presented);
      if (!key) {
        await reply.code(401).send({ error: "UNAUTHORIZED", message: "send a valid API key in the x-api-key header" });
        return;
      }
      if (!scopes.includes(key.scope) && key.scope !== "admin") {
        await reply.code(403).send({ error: "FORBIDDEN", message: `this route needs a ${scopes.join(" or ")} key` });
        return;
      }
      req.apiKey = key;
    };

  // ── operations ──────────────────────────────────────────────────────────
  app.get("/health", { schema: { hide: true } }, async () => ({ status: "ok" }));
  app.get("/ready", { schema: { hide: true } }, async (_req, reply) => {
    const parts = deps.readiness();
    const failing = Object.keys(parts).filter((k) => !parts[k]);
    return reply.code(failing.length ? 503 : 200).send({ ready: failing.length === 0, parts, failing });
  });
  app.get("/metrics", { schema: { hide: true } }, async (_req, reply) => {
    common.metrics.backlog.set(storage.backlog());
    for (const [state, n] of Object.entries(storage.batchStateCounts())) common.metrics.batches.set({ state }, n);
    common.metrics.holding.set(storage.countHoldingBatches());
    common.metrics.awaitingAdoption.set(storage.countAwaitingAdoption());
    return reply
      .header("content-type", common.metrics.registry.contentType)
      .send(await common.metrics.registry.metrics());
  });

  // ── ingest ──────────────────────────────────────────────────────────────
  app.post(
    "/v1/readings",
    {
      schema: {
        summary: "Submit one signed reading envelope or an array of them",
        description:
          "Each envelope is validated (schema, device, signature, replay, clock, plausibility, anomaly) and stored or dead-lettered durably before the response. A single envelope answers 201 when stored and 422 when rejected; an array answers 200 with one result per envelope. 503 (Retry-After) with DEVICE_LOOKUP_FAILED, STORAGE_FAILED or INGEST_CLOSED when ingest cannot finish now: the envelope that failed was neither stored nor dead-lettered; send it again (in an array, those stored before it then answer replay, and GET /v1/readings/:digest shows them).",
        security: [{ apiKey: [] }],
        body: {},
        response: {
          200: {
            type: "object",
            properties: {
              accepted: { type: "integer" },
              rejected: { type: "integer" },
              results: { type: "array", items: outcomeSchema },
            },
          },
          201: outcomeSchema,
          422: outcomeSchema,
          401: errorSchema,
        },
      },
      onRequest: cfg.openIngest ? [] : [requireKey(["facility", "device"])],
    },
    async (req, reply) => {
      const principal = req.apiKey ? { scope: req.apiKey.scope, subject: req.apiKey.subject } : undefined;
      if (req.body instanceof OversizedBody) {
        await ingestor.rejectOversized(
          req.body.head,
          req.body.totalBytes,
          { source: "http", principal },
          req.body.limitBytes,
        );
        return tooLarge(reply, req.body);
      }
      const results =
        req.body instanceof MalformedBody
          ? await ingestor.submitRaw(req.body.text, { source: "http", principal }, cfg.bodyLimitBytes)
          : await ingestor.submit(req.body, { source: "http", principal }, JSON.stringify(req.body));
      if (!Array.isArray(req.body) || results.length !== req.body.length) {
        const r = results[0]!;
        return reply.code(r.status === "stored" ? 201 : 422).send(r);
      }
      const accepted = results.filter((r) => r.status === "stored").length;
      return reply.send({ accepted, rejected: results.length - accepted, results });
    },
  );

  // ── auditors ────────────────────────────────────────────────────────────
  app.get(
    "/v1/readings/:digest",
    {
      schema: {
        summary: "A reading with its result, attestation id, Merkle proof and bundle CID",
        description:
          "The proof is present once the reading's batch is sealed; attestationId once it is signed; txHash and blockNumber once submitted/confirmed. Check it on-chain with AttestationRegistry.verifyReading(attestationId, leaf, proof).",
        params: {
          type: "object",
          properties: { digest: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } },
          required: ["digest"],
        },
      },
    },
    async (req, reply) => {
      const { digest } = req.params as { digest: string };
      const r = storage.getReading(digest.toLowerCase());
      if (!r) return reply.code(404).send({ error: "NOT_FOUND", message: `no reading with digest ${digest}` });
      const batch = r.batchId === null ? null : storage.getBatch(r.batchId);
      const sealed = batch && batch.state !== "open";
      const p = sealed ? proofs.proof(batch, r.digest) : null;
      return {
        ...readingView(r),
        batch: batch ? batchView(batch) : null,
        attestationId: batch?.attestationId ?? null,
        merkleRoot: sealed ? proofs.tree(batch).root : null,
        leaf: p?.leaf ?? null,
        proof: p?.proof ?? null,
        bundleCid: batch?.bundleCid ?? null,
        confirmed: batch?.state === "confirmed",
      };
    },
  );
  app.get(
    "/v1/readings",
    {
      schema: {
        summary: "Latest readings, optionally of one facility or device",
        querystring: {
          type: "object",
          properties: {
            facilityId: { type: "string" },
            deviceId: { type: "string" },
            afterTs: { type: "integer", minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { facilityId?: string; deviceId?: string; afterTs?: number; limit: number };
      return { readings: storage.listReadings(q).map(readingView) };
    },
  );
  app.get(
    "/v1/dead-letters",
    {
      schema: {
        summary: "Rejected messages with the raw payload and the reason, newest first",
        querystring: {
          type: "object",
          properties: {
            reason: { type: "string", enum: [...REJECT_REASONS] },
            deviceId: { type: "string" },
            before: {
              type: "integer",
              minimum: 1,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "page: ids below this one",
            },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100 },
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { reason?: string; deviceId?: string; before?: number; limit: number };
      return {
        deadLetters: storage.listDeadLetters({
          limit: q.limit,
          beforeId: q.before,
          reason: q.reason,
          deviceId: q.deviceId,
        }),
      };
    },
  );
  app.get(
    "/v1/devices/health",
    {
      schema: {
        summary: "Per device: last reading, verified heartbeats and their gaps, rejected messages by reason",
        description:
          "Devices this node has seen (readings, heartbeats, dead letters), or those of one facility, by id, a page at a time (`limit`, then `after` = the answer's `next`). Only heartbeats whose P-256 signature verifies count as the device being alive; gaps are measured between consecutive ones received since `sinceMs`, and listed when longer than `gapS`. `nowMs` is the node's clock, to measure the silence since the last heartbeat.",
        querystring: {
          type: "object",
          properties: {
            facilityId: { type: "string" },
            sinceMs: {
              type: "integer",
              minimum: 0,
              maximum: Number.MAX_SAFE_INTEGER,
              description: "gaps since this time (unix ms); default 7 days ago",
            },
            gapS: {
              type: "integer",
              minimum: 1,
              maximum: 31_622_400,
              default: 180,
              description: "a gap is longer than this (3 heartbeats)",
            },
            limit: {
              type: "integer",
              minimum: 1,
              maximum: DEVICE_HEALTH_MAX_LIMIT,
              default: 200,
              description: "devices in this page",
            },
            after: {
              type: "string",
              maxLength: 200,
              description: "the device id after which this page starts: the previous answer's `next`",
            },
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { facilityId?: string; sinceMs?: number; gapS: number; limit: number; after?: string };
      const nowMs = common.clock.nowMs();
      const sinceMs = q.sinceMs ?? nowMs - 7 * 86_400_000;
      const devices = storage.deviceHealth({
        facilityId: q.facilityId,
        sinceMs,
        gapMs: q.gapS * 1000,
        limit: q.limit,
        afterDeviceId: q.after,
      });
      return {
        node: common.config.nodeName,
        nowMs,
        sinceMs,
        gapS: q.gapS,
        devices,
        // a full page may have more after it: ask again with `after=<next>`
        next: devices.length === q.limit ? devices[devices.length - 1]!.deviceId : null,
      };
    },
  );
  app.get(
    "/v1/batches",
    {
      // a bad `after` answers 400 saying what a cursor looks like (the handler); others as always
      attachValidation: true,
      schema: {
        summary: "Batches (attestation candidates) by state and facility",
        description:
          "Oldest period first (then by id), a page at a time: `limit`, then `after` = the answer's `next` (null on the last page).",
        querystring: {
          type: "object",
          properties: {
            state: { type: "string", enum: [...BATCH_STATES] },
            facilityId: { type: "string" },
            limit: { type: "integer", minimum: 1, maximum: 1000, default: 100, description: "batches in this page" },
            after: {
              type: "string",
              pattern: BATCH_CURSOR_PATTERN,
              description:
                "`<periodStart>:<id>` of the batch after which this page starts: the previous answer's `next`",
            },
          },
        },
      },
    },
    async (req, reply) => {
      const q = req.query as { state?: Batch["state"]; facilityId?: string; limit: number; after?: unknown };
      const invalid = req.validationError;
      const issues = invalid?.validation as FastifySchemaValidationError[] | undefined;
      if (invalid && !issues?.some((e) => e.instancePath === "/after")) throw invalid;
      const after = typeof q.after === "string" ? parseBatchCursor(q.after) : undefined;
      if (q.after !== undefined && !after)
        return reply.code(400).send({
          error: "BAD_CURSOR",
          message: `after is the \`next\` of an earlier GET /v1/batches answer, <periodStart>:<id> such as "1700000000:42"; leave it out for the first page (got "${String(q.after).slice(0, 100)}")`,
        });
      const batches = storage.listBatches({
        states: q.state ? [q.state] : undefined,
        facilityId: q.facilityId,
        limit: q.limit,
        ...(after ? { after } : {}),
      });
      return {
        batches: batches.map(batchView),
        // a full page may have more after it: ask again with `after=<next>`
        next: batches.length === q.limit ? batchCursor(batches[batches.length - 1]!) : null,
      };
    },
  );
  app.get(
    "/v1/batches/:id",
    {
      schema: {
        summary: "One batch",
        params: {
          type: "object",
          properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
          required: ["id"],
        },
      },
    },
    async (req, reply) => {
      const b = storage.getBatch((req.params as { id: number }).id);
      if (!b) return reply.code(404).send({ error: "NOT_FOUND", message: "no such batch" });
      return batchView(b);
    },
  );
  app.get(
    "/v1/attestations/:id",
    {
      schema: {
        summary: "The batch behind an attestation id, with its reading digests",
        params: {
          type: "object",
          properties: { id: { type: "string", pattern: "^0x[0-9a-fA-F]{64}$" } },
          required: ["id"],
        },
      },
    },
    async (req, reply) => {
      const b = storage.getBatchByAttestation((req.params as { id: string }).id);
      if (!b)
        return reply.code(404).send({ error: "NOT_FOUND", message: "no batch of this node has that attestation id" });
      return { ...batchView(b), readings: storage.readingsOfBatch(b.id).map((r) => r.digest) };
    },
  );
  app.get("/v1/status", { schema: { summary: "Backlog, batch states and dead-letter count" } }, async () => ({
    node: common.config.nodeName,
    backlog: storage.backlog(),
    batches: storage.batchStateCounts(),
    // failed batches holding back their facility's later ones (`carbonproof-oracle retry` or `abandon`)
    holding: storage.countHoldingBatches(),
    // of the `signed` ones, those retried to be taken as the record of their period's attestation (never sent)
    awaitingAdoption: storage.countAwaitingAdoption(),
    deadLetters: storage.countDeadLetters(),
    // the recording of this node's periods above their baseline (null: not configured)
    shortfalls: deps.shortfalls?.() ?? null,
    ready: deps.readiness(),
  }));

  // ── manual entry with evidence ──────────────────────────────────────────
  /** Refuses a file name or media type that cannot be stored as sent (a control character; too long). */
  const evidenceFileProblem = (filename: string, mediaType: string): string | null => {
    const problem =
      textFieldProblem("the file name", filename, 255) ?? textFieldProblem("the media type", mediaType, 255);
    return problem && `${problem}: rename the file, or send it with a plain name and type`;
  };
  const pinEvidence = async (bytes: Buffer, filename: string, mediaType: string, facilityId: string) => {
    const problem = evidenceFileProblem(filename, mediaType);
    if (problem) throw Object.assign(new Error(problem), { statusCode: 400, code: "BAD_FILE_NAME" });
    const store = deps.content();
    if (!store) throw Object.assign(new Error("IPFS is not available; retry later"), { statusCode: 503 });
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    let cid: string;
    try {
      cid = await store.addAndPin(bytes);
    } catch (err) {
      // the IPFS node out of reach (or the embedded store's disk failing): nothing stored, and the
      // same upload later may succeed, so 503 with Retry-After (it was a bare 500)
      const e = err as Error & { code?: string };
      throw Object.assign(
        new Error(`the evidence file could not be pinned to IPFS (${e.message}): nothing was stored; retry later`, {
          cause: err,
        }),
        {
          statusCode: 503,
          code: typeof e.code === "string" && e.code.startsWith("IPFS_") ? e.code : "IPFS_UNAVAILABLE",
        },
      );
    }
    storage.putEvidence({
      sha256,
      cid,
      filename,
      mediaType,
      sizeBytes: bytes.length,
      facilityId,
      createdAtMs: common.clock.nowMs(),
    });
    return { sha256, cid };
  };
  /**
   * Reads a multipart body with `read`. The parser's errors on a body that is not valid multipart
   * (no boundary, cut short, a malformed part header) carry no status and would answer 500: they
   * are the request's fault, so they answer 400 and say so. Errors with a status (a file over the
   * size limit: 413) keep it.
   */
  const readMultipart = async <T>(read: () => Promise<T>): Promise<T> => {
    try {
      return await read();
    } catch (err) {
      const e = err as Error & { statusCode?: number; code?: string };
      if (e.statusCode !== undefined) throw e;
      throw Object.assign(
        new Error(`the multipart/form-data body cannot be read (${e.message}); check its boundary and parts`),
        { statusCode: 400, code: "MALFORMED_MULTIPART" },
      );
    }
  };
  app.post(
    "/v1/evidence",
    {
      schema: {
        summary: "Upload an evidence file (invoice, meter photo); it is pinned to IPFS",
        description:
          "Multipart with one file. Returns its SHA-256 (put it in the manual reading as m.evidenceSha256 before signing) and its CID. 400 BAD_FILE_NAME for a file name or media type with a control character (C0, DEL, C1, line separators, bidirectional controls) or over 255 characters: the name is stored as sent or not at all.",
        consumes: ["multipart/form-data"],
        security: [{ apiKey: [] }],
      },
      onRequest: [requireKey(["facility"])],
    },
    async (req, reply) => {
      const file = await readMultipart(async () => {
        const f = await req.file();
        return f && { bytes: await f.toBuffer(), filename: f.filename, mimetype: f.mimetype };
      });
      if (!file) return reply.code(400).send({ error: "NO_FILE", message: "send the evidence as a multipart file" });
      const out = await pinEvidence(file.bytes, file.filename, file.mimetype, req.apiKey!.subject);
      return reply.code(201).send(out);
    },
  );
  app.get(
    "/v1/evidence/:sha256",
    {
      schema: {
        summary: "An evidence file's record: its CID in IPFS, size, media type and facility",
        description:
          "Look up the evidence behind a manual reading by its m.evidenceSha256; fetch the file itself from IPFS by the CID.",
        params: {
          type: "object",
          properties: { sha256: { type: "string", pattern: "^[0-9a-fA-F]{64}$" } },
          required: ["sha256"],
        },
      },
    },
    async (req, reply) => {
      const { sha256 } = req.params as { sha256: string };
      const e = storage.getEvidence(sha256.toLowerCase());
      if (!e) {
        return reply.code(404).send({
          error: "NOT_FOUND",
          message: `no evidence with SHA-256 ${sha256}; upload it with POST /v1/evidence`,
        });
      }
      return {
        sha256: e.sha256,
        cid: e.cid,
        filename: e.filename,
        mediaType: e.mediaType,
        sizeBytes: e.sizeBytes,
        facilityId: e.facilityId,
        createdAtMs: e.createdAtMs,
      };
    },
  );
  app.post(
    "/v1/manual-entries",
    {
      schema: {
        summary: "Manual energy or fuel entry: a signed `manual` reading plus its evidence file",
        description:
          "Multipart: field `envelope` (signed manual reading, JSON: a text field, a field of type application/json, or a file part named `envelope`) and one file. The file's SHA-256 must equal the reading's m.evidenceSha256; the file is pinned to IPFS, then the reading goes through validation like any other. A file name POST /v1/evidence would refuse is refused here too (400 BAD_FILE_NAME), and dead-lettered as malformed.",
        consumes: ["multipart/form-data"],
        security: [{ apiKey: [] }],
      },
      onRequest: [requireKey(["facility"])],
    },
    async (req, reply) => {
      let envelopeText: string | undefined;
      let fileBytes: Buffer | undefined;
      let files = 0;
      let filename = "evidence";
      let mediaType = "application/octet-stream";
      let unreadEnvelope = false;
      try {
        await readMultipart(async () => {
          // two files at most: the evidence, and the envelope when a client sends it as a file
          // (`curl -F envelope=@env.json`)
          for await (const part of req.parts({ limits: { files: 2 } })) {
            if (part.type === "file" && part.fieldname === "envelope") {
              envelopeText = (await part.toBuffer()).toString("utf8");
            } else if (part.type === "file") {
              files++;
              fileBytes = await part.toBuffer();
              filename = part.filename;
              mediaType = part.mimetype;
            } else if (part.fieldname === "envelope") {
              // a field sent as application/json comes parsed (@fastify/multipart): its text again
              envelopeText = typeof part.value === "string" ? part.value : JSON.stringify(part.value);
            }
          }
        });
      } catch (err) {
        // a field declared application/json that is not JSON, or holds a __proto__ key: refused
        // below like any envelope that is not JSON, and dead-lettered (its text is not kept)
        if ((err as { code?: string }).code !== "FST_INVALID_JSON_FIELD_ERROR") throw err;
        unreadEnvelope = true;
      }
      // a refused entry is dead-lettered with the envelope as sent; the evidence file is described
      // (size, type, SHA-256), never stored there
      const sha = fileBytes && createHash("sha256").update(fileBytes).digest("hex");
      const file = fileBytes
        ? `evidence ${filename} (${mediaType}, ${fileBytes.length} bytes, SHA-256 ${sha})`
        : "no evidence file";
      // dead-letter reasons as for any reading: not JSON or no envelope is `malformed`, a failed
      // schema `schema`, a file that is not the one signed for `evidence-mismatch`
      const reasons = {
        INCOMPLETE: "malformed",
        BAD_FILE_NAME: "malformed",
        MALFORMED: "malformed",
        SCHEMA: "schema",
        EVIDENCE_MISMATCH: "evidence-mismatch",
      } as const;
      const refuse = async (code: 400 | 422, error: keyof typeof reasons, message: string) => {
        await ingestor.rejectMalformed(
          envelopeText ?? "",
          `manual entry ${error}: ${message}; ${file}`,
          { source: "manual", principal: { scope: req.apiKey!.scope, subject: req.apiKey!.subject } },
          reasons[error],
        );
        return reply.code(code).send({ error, message });
      };
      if (unreadEnvelope)
        return refuse(
          400,
          "MALFORMED",
          "`envelope` was declared application/json but is not JSON, or holds a __proto__ key; send the signed envelope as a JSON text field",
        );
      if (!envelopeText || !fileBytes || files > 1)
        return refuse(400, "INCOMPLETE", "send the field `envelope` and one evidence file");
      let value: unknown;
      try {
        value = JSON.parse(envelopeText);
      } catch {
        return refuse(400, "MALFORMED", "`envelope` is not JSON; send the signed envelope as a JSON text field");
      }
      const parsed = envelopeSchema.safeParse(value);
      if (!parsed.success || parsed.data.reading.kind !== "manual") {
        return refuse(
          422,
          "SCHEMA",
          parsed.success
            ? "expected a reading of kind `manual`"
            : formatIssues(parsed.error)
                .map((i) => `${i.path}: ${i.message}`)
                .join("; "),
        );
      }
      const nameProblem = evidenceFileProblem(filename, mediaType);
      if (nameProblem) return refuse(400, "BAD_FILE_NAME", nameProblem);
      const m = parsed.data.reading.m as { evidenceSha256: string };
      if (m.evidenceSha256 !== sha) {
        return refuse(
          422,
          "EVIDENCE_MISMATCH",
          `file SHA-256 ${sha} differs from m.evidenceSha256 ${m.evidenceSha256}; sign the reading with the SHA-256 of the file you send`,
        );
      }
      const ev = await pinEvidence(fileBytes, filename, mediaType, req.apiKey!.subject);
      const [outcome] = await ingestor.submit(
        value,
        {
          source: "manual",
          principal: { scope: req.apiKey!.scope, subject: req.apiKey!.subject },
        },
        envelopeText,
      );
      const r = outcome as IngestOutcome;
      return reply.code(r.status === "stored" ? 201 : 422).send({ ...r, evidence: ev });
    },
  );

  // ── quorum: co-sign another oracle node's batch header ──────────────────
  app.post(
    "/v1/quorum/cosign",
    {
      // a bundle holds every reading of a window: far more than one ingest request
      bodyLimit: 256 * 1024 * 1024,
      schema: {
        summary: "Co-sign another oracle node's EIP-712 batch header after re-checking its bundle",
        description:
          "Body: { header (the header as JSON, bigints as decimal strings), bundle (the evidence bundle's canonical JSON), domain ({ chainId, verifyingContract }: the AttestationRegistry the asking node signs for), signature (the asking node's own EIP-712 signature of the header under domain, 0x and 130 hex digits; a malformed domain or signature is 400 FST_ERR_VALIDATION) }. Before anything is reviewed or recorded: 403 COSIGN_KEY_NAMES_NO_NODE for an `oracle` key whose subject is not a node's address (issued before oracle keys were bound to their node: issue the asking node a new one, revoke the old); 400 COSIGN_INCOMPLETE_REQUEST without domain or signature (an asking node from before they were sent: upgrade it); 422 COSIGN_WRONG_REGISTRY, naming both, when domain is not this node's registry (chain.chainId and chain.attestationRegistry differ in the two nodes' configs); 400 COSIGN_BAD_SIGNATURE for a signature that cannot be recovered; 403 COSIGN_KEY_NOT_THE_SIGNER, naming both, when the request came with an `oracle` key and the signature recovers (under this node's registry) to another address than the key's subject (an admin key may ask for any active node); 403 COSIGN_NOT_AN_ORACLE, naming the signer, when it recovers to this node's own address, or to one that is not an active node of the OracleSet; 503 COSIGN_RETRY_LATER when the OracleSet cannot be read. The OracleSet is read only once the checks that need no chain pass (these, the period, the bundle's CID, the number of devices). Nothing is recorded on any refusal. The header is signed only if the bundle hashes to its CID, backs exactly its fields, every link re-checks with this node's methodology, factor set, facility context and device keys (of devices active at each reading's time), its period ended batching.graceS ago, and a correction's original is in the registry with none of its readings; otherwise 422 COSIGN_REFUSED with the reason. 409 COSIGN_CONFLICT, naming the attestation id already co-signed: another header for an overlapping period of the facility, or another correction of the same original with one of its readings (the same header again is signed again). 413 TOO_MANY_DEVICES over 10,000 distinct device ids. 503 COSIGN_RETRY_LATER (Retry-After) when a check cannot be made now (the DeviceRegistry's events not read up to the period's end, the registry or the original's bundle out of reach), or when this node already has as many reviews working with nobody waiting for them as it allows (quorum reviews left by their requesters: ask again later); a correction is also told apart from the original's other corrections by (deviceId, seq), as the verifier tells readings apart (409 naming it); 503 CHAIN_ID_MISMATCH when this node's RPC node serves another chain than its chain.chainId. 409 NO_CHAIN_KEY when this node has no chain key. An `oracle` key (issued by this node to the asking node, its subject that node's address) or an admin key.",
        security: [{ apiKey: [] }],
        body: {
          type: "object",
          required: ["header", "bundle"],
          properties: {
            header: { type: "string" },
            bundle: { type: "string" },
            // not required: a request without them is answered 400 saying why (an outdated lead)
            domain: {
              type: "object",
              required: ["chainId", "verifyingContract"],
              properties: {
                chainId: { type: "integer", minimum: 1 },
                verifyingContract: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
              },
            },
            signature: { type: "string", pattern: "^0x[0-9a-fA-F]{130}$" },
          },
        },
      },
      onRequest: [requireKey(["oracle"])],
    },
    async (req, reply) => {
      if (!deps.cosign) {
        return reply.code(409).send({
          error: "NO_CHAIN_KEY",
          message: "this node has no chain key (chain.enabled is off): it cannot co-sign",
        });
      }
      const body = req.body as CosignRequest;
      // the requester gone before the answer (its connection closed): the co-signer is told, and
      // stops the review once no other request waits for it
      const gone = new AbortController();
      const leave = () => {
        if (!reply.raw.writableFinished) gone.abort(new Error("the requester closed its co-sign request"));
      };
      reply.raw.on("close", leave);
      let out: Awaited<ReturnType<NonNullable<ApiDeps["cosign"]>>>;
      try {
        out = await deps.cosign(
          {
            header: body.header,
            bundle: body.bundle,
            ...(body.domain
              ? { domain: { chainId: body.domain.chainId, verifyingContract: body.domain.verifyingContract } }
              : {}),
            ...(body.signature ? { signature: body.signature } : {}),
          },
          // set by requireKey (the admin token as an admin key, id 0)
          { id: req.apiKey!.id, scope: req.apiKey!.scope, subject: req.apiKey!.subject },
          gone.signal,
        );
      } catch (err) {
        if (!gone.signal.aborted) throw err;
        req.log.info("co-sign requester gone before the answer");
        return reply.code(503).send({ error: "COSIGN_CANCELLED", message: "the request was closed before the answer" });
      } finally {
        reply.raw.off("close", leave);
      }
      if ("refused" in out) {
        req.log.warn({ error: out.error, why: out.refused }, "co-signing refused");
        const status = out.status ?? 422;
        if (status === 503) reply.header("retry-after", "30");
        return reply.code(status).send({ error: out.error ?? "COSIGN_REFUSED", message: out.refused });
      }
      return out;
    },
  );

  // ── API keys (admin) ────────────────────────────────────────────────────
  app.post(
    "/v1/admin/api-keys",
    {
      schema: {
        summary: "Create an API key for a facility, a device, an admin or another oracle node (shown once)",
        description:
          "A facility or device key's subject is the facility or device id its readings carry (1–32 characters of a-z, 0-9, '.', '_', '-'); an oracle key's, the chain address of the node it is for (0x and 40 hex digits, `carbonproof-oracle keys show` on that node: the key asks for co-signatures of that node's own headers only); an admin key's, who it is for (up to 128 characters). The label (up to 200) is shown by the key list. 400 BAD_API_KEY, saying what is wrong, for another subject, a control character (C0, DEL, C1, line separators, bidirectional controls) or a lone surrogate in either. Admin key.",
        security: [{ apiKey: [] }],
        body: {
          type: "object",
          required: ["scope", "subject"],
          properties: {
            scope: { type: "string", enum: ["facility", "device", "admin", "oracle"] },
            subject: { type: "string", minLength: 1, maxLength: 128 },
            label: { type: "string", maxLength: 200 },
          },
        },
      },
      onRequest: [requireKey(["admin"])],
    },
    async (req, reply) => {
      const b = req.body as { scope: ApiKey["scope"]; subject: string; label?: string };
      return reply.code(201).send(createApiKey(storage, { ...b, nowMs: common.clock.nowMs() }));
    },
  );
  app.delete(
    "/v1/admin/api-keys/:id",
    {
      schema: {
        summary: "Revoke an API key",
        security: [{ apiKey: [] }],
        params: {
          type: "object",
          properties: { id: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER } },
        },
      },
      onRequest: [requireKey(["admin"])],
    },
    async (req, reply) => {
      const id = (req.params as { id: number }).id;
      if (storage.revokeApiKey(id, common.clock.nowMs())) return reply.code(204).send();
      return reply.code(404).send({ error: "NOT_FOUND", message: `no API key ${id}, or it is already revoked` });
    },
  );

  // ── failed batches (admin): the CLI's `retry` and `abandon` (batch/operator.ts) ──
  const operator = new BatchOperator({
    storage,
    registry: registryReader(common.config),
    nowMs: () => common.clock.nowMs(),
    logger: common.logger.child({ part: "operator" }),
  });
  // who asked, for the operator's log line: the key's id (0 is the configured admin token), never the key
  const byKey = (req: FastifyRequest) => (req.apiKey!.id === 0 ? "admin token" : `api key ${req.apiKey!.id}`);
  const refusalBody = (out: Extract<OperatorResult, { done: false }>) => ({
    error: out.code.toUpperCase().replace(/-/g, "_"),
    message: out.reason,
    batch: out.batch,
  });
  const refusalStatus = (code: OperatorRefusal) =>
    code === "unknown-batch" ? 404 : code === "registry-unreadable" ? 503 : 409;
  /** The batch id of the path, or null after a 400 that says what one looks like. */
  const batchIdOf = async (req: FastifyRequest, reply: FastifyReply): Promise<number | null> => {
    if (!req.validationError) return Number((req.params as { id: string }).id);
    const raw = (req.params as { id?: unknown }).id;
    await reply.code(400).send({
      error: "BAD_BATCH_ID",
      message: `a batch id is a positive whole number as GET /v1/batches or \`carbonproof-oracle status\` shows it (got "${String(raw)}")`,
    });
    return null;
  };
  const batchIdParams = {
    type: "object",
    properties: { id: { type: "string", pattern: "^[1-9][0-9]{0,14}$", description: "the batch's id" } },
    required: ["id"],
  } as const;
  const doneSchema = {
    type: "object",
    properties: {
      batch: { type: "integer" },
      done: { type: "boolean" },
      state: { type: "string", enum: [...BATCH_STATES], description: "the batch's state now" },
      readings: { type: "integer" },
      corrections: {
        type: "array",
        items: { type: "integer" },
        description: "failed corrections of this regular batch retried with it",
      },
      abandonedAt: {
        type: "integer",
        nullable: true,
        description: "when it was abandoned (unix ms); null once retried",
      },
      warning: {
        type: "string",
        description: "the registry's frontier could not be read: retried without that check",
      },
      adopting: {
        type: "object",
        description:
          "a regular batch the registry has attested past, retried because it holds a regular attestation of exactly its period: the node takes the batch as that attestation's record if the bundle is in its IPFS store (a node on Kubo also asks the IPFS network) and holds the batch's readings (else the batch fails again, saying why)",
        properties: {
          attestationId: { type: "string" },
          bundleCid: { type: "string" },
          readings: { type: "integer", description: "readings the attestation holds" },
        },
      },
    },
  } as const;
  const refusalSchema = {
    type: "object",
    properties: {
      error: {
        type: "string",
        enum: [
          "UNKNOWN_BATCH",
          "NOT_FAILED",
          "NO_READINGS",
          "REGULAR_FAILED",
          "REGISTRY_PAST",
          "REGISTRY_UNREADABLE",
          "ALREADY_ABANDONED",
        ],
      },
      message: { type: "string", description: "why, and what to do" },
      batch: { type: "integer" },
    },
  } as const;
  const batchOpResponses = {
    200: doneSchema,
    400: errorSchema,
    401: errorSchema,
    403: errorSchema,
    404: refusalSchema,
    409: refusalSchema,
  } as const;
  /** A POST on one failed batch (`:id`): admin key, the id checked after the key, a refusal as 404/409. */
  const batchOpRoute = (
    op: "retry" | "abandon",
    summary: string,
    description: string,
    run: (id: number, by: string) => OperatorResult | Promise<OperatorResult>,
  ) =>
    app.post(
      `/v1/admin/batches/:id/${op}`,
      {
        // a bad id answers 400 after the key check (batchIdOf), with what an id looks like
        attachValidation: true,
        schema: {
          summary,
          description,
          security: [{ apiKey: [] }],
          params: batchIdParams,
          // a retry may search the registry's events: 503 when that failed
          response: op === "retry" ? { ...batchOpResponses, 503: refusalSchema } : batchOpResponses,
        },
        onRequest: [requireKey(["admin"])],
      },
      async (req, reply) => {
        const id = await batchIdOf(req, reply);
        if (id === null) return reply;
        const out = await run(id, byKey(req));
        if (!out.done) return reply.code(refusalStatus(out.code)).send(refusalBody(out));
        return out;
      },
    );
  batchOpRoute(
    "retry",
    "Send a failed batch again once the cause is fixed (`carbonproof-oracle retry ID`)",
    "The batch goes back to `pinned` (`sealed` or `open` when it has no bundle yet) with its transaction forgotten and `abandonedAt` cleared; a regular batch takes its failed corrections along. The running pipeline picks it up at its next tick. A regular batch that starts before the AttestationRegistry's `attestedUntil` for its facility is refused (409 REGISTRY_PAST: the registry would revert it again) unless the registry holds a regular, unrevoked attestation of exactly its period (a window sealed again after a restore): then it goes to `signed`, never to be sent, holding nothing back and abandoned or not as it was, with `adopting`, and the node takes it as that attestation's record if the bundle is in its IPFS store (`carbonproof-oracle pin` first; a node on Kubo also asks the IPFS network), its lost readings given back from the bundle (else it fails again, saying why). 503 REGISTRY_UNREADABLE when the registry's events could not be searched (nothing changed). 409 also for a batch that is not failed, has no readings, or corrects a failed regular batch (retry that one); 404 for an unknown id. Admin key.",
    (id, by) => operator.retry(id, by),
  );
  app.post(
    "/v1/admin/batches/retry-all",
    {
      schema: {
        summary: "Send every failed batch again (`carbonproof-oracle retry --all`)",
        description:
          'Every failed batch with readings that was not abandoned, in period order (a regular batch takes its failed corrections along), or only the batches `ids` names. 200 with those retried and those refused, each refusal with its reason as POST /v1/admin/batches/:id/retry gives it; both empty when there is nothing to retry. A retry of a batch the registry has attested past searches its events (seconds apiece), so none is started once `budgetMs` (default 20,000) has passed, and a search under way then is cut short with nothing changed for its batch (`cutShort`): the answer comes within the budget, give or take a read of the registry frontier under way (one call, 10 s at most). The batches not reached, the cut one first, are `notTried`, in order, and POSTing `{"ids": notTried}` goes on with them, those of `ids` retry-all no longer takes (retried or abandoned meanwhile) being `skipped` (`carbonproof-oracle retry --all` has no limit). 400 for a body that is not JSON or names another field. Admin key.',
        security: [{ apiKey: [] }],
        // no body: every failed batch, within the default budget
        body: {
          type: ["object", "null"],
          additionalProperties: false,
          properties: {
            ids: {
              type: "array",
              items: { type: "integer", minimum: 1, maximum: Number.MAX_SAFE_INTEGER },
              minItems: 1,
              maxItems: 10_000,
              description: "only these batches (a previous answer's `notTried`)",
            },
            budgetMs: {
              type: "integer",
              minimum: 1000,
              maximum: 300_000,
              default: RETRY_ALL_BUDGET_MS,
              description:
                "no retry is started after this long (the first always is), and a registry search under way then is cut short",
            },
          },
        },
        response: {
          200: {
            type: "object",
            properties: {
              retried: { type: "array", items: doneSchema },
              refused: { type: "array", items: refusalSchema },
              notTried: {
                type: "array",
                items: { type: "integer" },
                description: "batches not reached within budgetMs, in order: POST again with them as `ids`",
              },
              next: { type: "string", description: "what to do about `notTried`, when it is not empty" },
              cutShort: {
                type: "integer",
                description:
                  "the batch whose search of the registry's events was under way at the budget, stopped with nothing changed for it (the first of `notTried`)",
              },
              skipped: {
                type: "array",
                items: { type: "integer" },
                description:
                  "of `ids`, those retry-all no longer takes (retried, abandoned, not failed, unknown): POST /v1/admin/batches/:id/retry takes one whatever it is",
              },
            },
          },
          400: errorSchema,
          401: errorSchema,
          403: errorSchema,
        },
      },
      // the key first, then the body: a body that is not JSON, or names a field the route does not
      // take (the validator would drop it), would otherwise retry every failed batch
      onRequest: [requireKey(["admin"])],
      preValidation: [
        async (req, reply) => {
          const body = req.body as unknown;
          // a JSON content type with nothing after it: no body
          if (body instanceof MalformedBody && body.text.trim() === "") return void (req.body = undefined);
          if (body instanceof MalformedBody)
            return reply.code(400).send({
              error: "FST_ERR_VALIDATION",
              message: 'body is not JSON: send {"ids": [...], "budgetMs": ...}, or no body for every failed batch',
            });
          // the validator would take 0, false or "" for null, and a one-element array for its element
          if (body !== undefined && body !== null && (typeof body !== "object" || Array.isArray(body)))
            return reply.code(400).send({
              error: "FST_ERR_VALIDATION",
              message:
                'body must be an object such as {"ids": [...], "budgetMs": ...}, or no body for every failed batch',
            });
          if (body && typeof body === "object") {
            const unknown = Object.keys(body).filter((k) => k !== "ids" && k !== "budgetMs");
            if (unknown.length)
              return reply.code(400).send({
                error: "FST_ERR_VALIDATION",
                message: `body/${unknown[0]} is not a field of retry-all: it takes ids and budgetMs`,
              });
          }
        },
      ],
    },
    async (req) => {
      const body = (req.body ?? {}) as { ids?: number[]; budgetMs?: number };
      const budgetMs = body.budgetMs ?? RETRY_ALL_BUDGET_MS;
      const { outcomes, notTried, cutShort, skipped } = await operator.retryAll(body.ids ?? null, byKey(req), {
        budgetMs,
      });
      return {
        retried: outcomes.filter((o) => o.done),
        refused: outcomes.flatMap((o) => (o.done ? [] : [refusalBody(o)])),
        notTried,
        ...(skipped ? { skipped } : {}),
        ...(cutShort !== undefined ? { cutShort } : {}),
        ...(notTried.length
          ? {
              next:
                `${notTried.length} batch(es) were not tried within budgetMs (${budgetMs} ms)` +
                (cutShort !== undefined
                  ? `, batch ${cutShort}'s search of the registry's events cut short with nothing changed for it`
                  : "") +
                `: POST again with {"ids": notTried}` +
                (cutShort !== undefined && outcomes.length === 0 && budgetMs < 300_000
                  ? " and a larger budgetMs (up to 300000)"
                  : "") +
                " to go on with them, or run `carbonproof-oracle retry --all`, which has no time limit",
            }
          : {}),
      };
    },
  );
  batchOpRoute(
    "abandon",
    "Give up on a failed batch (`carbonproof-oracle abandon ID`)",
    "The batch stays `failed` with its readings stored and unattested, and `abandonedAt` set: it no longer holds back its facility's later regular batches (`holding` in /v1/status). POST /v1/admin/batches/:id/retry takes it back while the registry has no later period of its facility, or, when the registry holds an attestation of exactly its period, to be taken as that record. 409 for a batch that is not failed or is abandoned already; 404 for an unknown id. Admin key.",
    (id, by) => operator.abandon(id, by),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    // ingest could not finish now (storage failing, a device lookup out of reach, shutting down):
    // nothing was stored for it, and the same request later may succeed
    const retry = err instanceof IngestError;
    const status = retry ? 503 : (err.statusCode ?? 500);
    if (retry) {
      req.log.warn({ err, code: err.code }, "ingest could not finish; answered 503");
      void reply.header("retry-after", "5");
    } else if (status === 503) {
      req.log.warn({ err, code: err.code }, "a part the request needs is unavailable; answered 503");
      void reply.header("retry-after", "30");
    } else if (status >= 500) req.log.error({ err }, "request failed");
    // a failure's message may quote a URL it called (a device lookup's chain.rpcUrl): common.scrub
    void reply.code(status).send({ error: err.code ?? "ERROR", message: common.scrub(err.message) });
  });
  return app;
}
