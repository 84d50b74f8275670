import { workerData, type MessagePort } from "node:worker_threads";
import pg from "pg";
import { nameThread, THREAD_NAMES } from "../threads/name.ts";
import type { BridgeReply, BridgeRequest } from "./pg-bridge.ts";

/**
 * The thread behind `PgBridge`: one `pg` client, one request at a time. Each reply is posted on
 * the bridge's port, then the shared flag is set and the waiting thread woken.
 *
 * A connection lost while a transaction is open fails that transaction: every statement after
 * it fails too, and so does its COMMIT, until the caller's ROLLBACK; only then, or outside a
 * transaction, is a new connection made. Never would a statement of an unfinished transaction
 * run on a new connection, where it would commit on its own.
 */
nameThread(THREAD_NAMES.pg);
const { url, port, flag, connectTimeoutMs, applicationName } = workerData as {
  url: string;
  port: MessagePort;
  flag: SharedArrayBuffer;
  connectTimeoutMs: number;
  applicationName: string;
};
const signal = new Int32Array(flag);

let client: pg.Client | null = null;
let lost: Error | null = null;
/** a transaction is open (BEGIN sent, no COMMIT or ROLLBACK yet) */
let inTx = false;
/** the connection was lost inside the open transaction */
let txLost = false;
/** named statements prepared on the current connection */
const names = new Map<string, string>();
/** the next statement name: never reused on a connection, also when one is named again after a reconnect */
let nextName = 0;

/** The last failed attempt to connect: for a second after it, calls fail at once with its error. */
let refused: { atMs: number; err: unknown } | null = null;
const RECONNECT_AFTER_MS = 1000;

async function connect(): Promise<pg.Client> {
  // While the server is down, every statement of the waiting thread would try again and wait for
  // its own refusal or timeout; one attempt a second, the others told at once.
  if (refused && Date.now() - refused.atMs < RECONNECT_AFTER_MS) throw refused.err;
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: applicationName,
  });
  const drop = (err: Error) => {
    // the server closed the connection, or the network dropped it
    if (client !== c) return;
    client = null;
    lost = err;
    if (inTx) txLost = true;
  };
  c.on("error", drop);
  c.on("end", () => drop(new Error("the server closed the connection")));
  try {
    await c.connect();
  } catch (err) {
    refused = { atMs: Date.now(), err };
    throw err;
  }
  refused = null;
  names.clear();
  client = c;
  lost = null;
  return c;
}

/** An error of the connection rather than of the statement: SQLSTATE class 08, a server shutting down (57P01-03), a socket error. */
function connectionLost(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === "string" && (e.code.startsWith("08") || /^57P0[123]$/.test(e.code))) return true;
  if (e.code === "ECONNRESET" || e.code === "EPIPE" || e.code === "ECONNREFUSED") return true;
  return /Connection terminated|not queryable|Client has encountered a connection error/.test(e.message ?? "");
}

async function handle(req: BridgeRequest): Promise<BridgeReply> {
  if (req.op === "close") {
    const c = client;
    client = null;
    await c?.end();
    return { id: req.id, ok: true, rows: [], rowCount: 0 };
  }
  if (req.op === "connect") {
    await connect();
    return { id: req.id, ok: true, rows: [], rowCount: 0 };
  }
  const text = req.sql;
  const upper = text.trimStart().slice(0, 8).toUpperCase();
  const isBegin = upper.startsWith("BEGIN");
  const isEnd = upper.startsWith("COMMIT") || upper.startsWith("ROLLBACK");
  if (txLost) {
    if (upper.startsWith("ROLLBACK")) {
      inTx = false;
      txLost = false;
      return { id: req.id, ok: true, rows: [], rowCount: 0 };
    }
    throw Object.assign(
      new Error(
        `the connection to PostgreSQL was lost inside a transaction (${lost?.message ?? "closed"}): it was rolled back`,
      ),
      { code: "CONNECTION_LOST" },
    );
  }
  let c = client;
  if (!c) {
    if (inTx)
      throw Object.assign(new Error("no connection to PostgreSQL inside a transaction"), { code: "CONNECTION_LOST" });
    c = await connect();
  }
  let name = names.get(text);
  if (name === undefined && !isBegin && !isEnd && !req.simple) names.set(text, (name = `cp${nextName++}`));
  const wasInTx = inTx;
  try {
    let r: pg.QueryResult;
    try {
      r = req.simple ? await c.query(text) : await c.query({ text, values: req.args, name });
    } catch (err) {
      // Outside a transaction a statement that met a connection already lost (the server
      // restarted while this one was idle) never ran: it is sent again, once, on a new connection.
      // Inside one it is not: the transaction is gone with its connection.
      if (wasInTx || !connectionLost(err)) throw err;
      if (client === c) client = null;
      c = await connect();
      if (name !== undefined) names.set(text, name);
      r = req.simple ? await c.query(text) : await c.query({ text, values: req.args, name });
    }
    if (isBegin) inTx = true;
    if (isEnd) inTx = false;
    return { id: req.id, ok: true, rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0 };
  } catch (err) {
    if (isEnd) inTx = false;
    throw err;
  }
}

port.on("message", (req: BridgeRequest) => {
  void handle(req)
    .catch((err: unknown): BridgeReply => {
      const e = err as { message?: string; code?: string; detail?: string };
      return { id: req.id, ok: false, message: String(e.message ?? err), code: e.code, detail: e.detail };
    })
    .then((reply) => {
      port.postMessage(reply);
      Atomics.store(signal, 0, 1);
      Atomics.notify(signal, 0);
    });
});
