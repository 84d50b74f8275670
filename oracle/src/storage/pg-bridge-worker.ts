import { workerData, type MessagePort } from "node:worker_threads";
import pg from "pg";
import { nameThread, THREAD_NAMES } from "../threads/name.ts";
import type { BridgeReply, BridgeRequest } from "./pg-bridge.ts";

/**
 * The thread behind `PgBridge`: one `pg` client, one request at a time (the next waits until the
 * last is answered, so that what a request leaves behind, a transaction open or lost, is settled
 * before the next looks at it). Each reply is posted on the bridge's port, then the shared flag is
 * set and the waiting thread woken.
 *
 * A connection lost while a transaction is open fails that transaction: every statement after
 * it fails too, and so does its COMMIT. Its COMMIT or ROLLBACK ends it, whether it succeeds or
 * fails; only then, or outside a transaction, is a new connection made. Never would a statement
 * of an unfinished transaction run on a new connection, where it would commit on its own.
 *
 * A request not answered within its `timeoutMs` closes the connection under it (the next call
 * makes a new one): a statement the server still runs, or a server that stopped answering, never
 * holds the calls behind it, and the server ends the session (and rolls its transaction back,
 * releasing the writers' lock) once it notices. A transaction open then is lost, as above.
 */
nameThread(THREAD_NAMES.pg);
const { url, port, flag, connectTimeoutMs, applicationName, statementTimeoutMs, idleInTxTimeoutMs } = workerData as {
  url: string;
  port: MessagePort;
  flag: SharedArrayBuffer;
  connectTimeoutMs: number;
  applicationName: string;
  statementTimeoutMs: number;
  idleInTxTimeoutMs: number;
};
const signal = new Int32Array(flag);

/**
 * Set on every session once connected, over whatever the server, the database, the role or the
 * URL's `options` set (a session's SET wins over each of them):
 * - `synchronous_commit = on`: a COMMIT returns once flushed, which is when the node acknowledges
 *   a reading (the driver's `durable`); `off` for the database would acknowledge readings a crash loses.
 * - `default_transaction_isolation = 'read committed'`: a writer's statements after the advisory
 *   lock see what the writer before it committed (PgDriver also names it in its BEGIN);
 *   `repeatable read` would read a snapshot taken before the lock was granted.
 * - `statement_timeout` a little under the bridge's timeout: a statement that runs too long (or
 *   waits too long for a lock) is cancelled by the server, which answers with the error, rather
 *   than left running when the bridge gives up on it.
 * - `idle_in_transaction_session_timeout`: a session whose caller went quiet inside a transaction
 *   (a thread or process stopped, a connection the bridge closed that the server did not notice
 *   closing) is ended by the server, and the writers' lock with it.
 */
const SESSION_SETTINGS = [
  "SET synchronous_commit = on",
  "SET default_transaction_isolation = 'read committed'",
  `SET statement_timeout = ${statementTimeoutMs}`,
  `SET idle_in_transaction_session_timeout = ${idleInTxTimeoutMs}`,
].join("; ");

/**
 * TCP keepalive probes after this long idle: a connection the network dropped (a NAT or firewall
 * that forgot it, a server host gone) is noticed while idle rather than by the next statement.
 */
const KEEPALIVE_IDLE_MS = 10_000;

let client: pg.Client | null = null;
/** the client being connected (not yet `client`): what a timeout closes while connecting */
let connecting: pg.Client | null = null;
let lost: Error | null = null;
/** a transaction is open (BEGIN answered, no COMMIT or ROLLBACK yet) */
let inTx = false;
/** the connection was lost inside the open transaction */
let txLost = false;
/** the request under way ran past its timeout, and its connection was closed */
let timedOut = false;
/** named statements prepared on the current connection */
const names = new Map<string, string>();
/** the next statement name: never reused on a connection, also when one is named again after a reconnect */
let nextName = 0;

/** The last failed attempt to connect: for a second after it, calls fail at once with its error. */
let refused: { atMs: number; err: unknown } | null = null;
const RECONNECT_AFTER_MS = 1000;

/** Closes `c` at once, a statement under way or not (as `Client.end` does with one under way). */
function destroy(c: pg.Client): void {
  (c.connection as unknown as { stream: { destroy(): void } }).stream.destroy();
}

async function connect(): Promise<pg.Client> {
  // While the server is down, every statement of the waiting thread would try again and wait for
  // its own refusal or timeout; one attempt a second, the others told at once.
  if (refused && Date.now() - refused.atMs < RECONNECT_AFTER_MS) throw refused.err;
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: connectTimeoutMs,
    application_name: applicationName,
    keepAlive: true,
    keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
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
  connecting = c;
  try {
    await c.connect();
    await c.query(SESSION_SETTINGS);
  } catch (err) {
    destroy(c);
    refused = { atMs: Date.now(), err: timedOut ? timeoutError() : err };
    throw err;
  } finally {
    connecting = null;
  }
  refused = null;
  names.clear();
  client = c;
  lost = null;
  return c;
}

function timeoutError(): Error {
  return Object.assign(new Error("no answer within the timeout: the connection was closed"), { code: "TIMEOUT" });
}

/**
 * PostgreSQL's refusal of a prepared statement whose result columns changed since it was prepared
 * (SQLSTATE 0A000, "cached plan must not change result type"): an ALTER TABLE of a `SELECT *`'s
 * table by another session.
 */
function isStalePlan(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  return e.code === "0A000" && /cached plan must not change result type/.test(e.message ?? "");
}

/** An error of the connection rather than of the statement: SQLSTATE class 08, a server shutting down (57P01-03), a socket error. */
function connectionLost(err: unknown): boolean {
  const e = err as { code?: string; message?: string };
  if (typeof e.code === "string" && (e.code.startsWith("08") || /^57P0[123]$/.test(e.code))) return true;
  if (e.code === "ECONNRESET" || e.code === "EPIPE" || e.code === "ECONNREFUSED") return true;
  return /Connection terminated|not queryable|Client has encountered a connection error/.test(e.message ?? "");
}

const done = (id: number): BridgeReply => ({ id, ok: true, rows: [], rowCount: 0 });

async function handle(req: BridgeRequest): Promise<BridgeReply> {
  if (req.op === "close") {
    await client?.end(); // still `client` meanwhile, for a timeout to close
    client = null;
    return done(req.id);
  }
  if (req.op === "connect") {
    await connect();
    return done(req.id);
  }
  const text = req.sql;
  const upper = text.trimStart().slice(0, 8).toUpperCase();
  const isBegin = upper.startsWith("BEGIN");
  const isRollback = upper.startsWith("ROLLBACK");
  const isEnd = upper.startsWith("COMMIT") || isRollback;
  if (isBegin && inTx) {
    // a transaction its caller never ended: rolled back (if its connection still holds it), so
    // that this one starts on its own instead of joining it
    const c = txLost ? null : client;
    inTx = txLost = false;
    await c?.query("ROLLBACK").catch(() => {});
    if (timedOut) throw timeoutError(); // its failure was the closing of the connection
  }
  if (inTx && !client) txLost = true;
  if (txLost) {
    // its COMMIT or ROLLBACK ends the transaction (the server rolled it back with the connection)
    if (isEnd) inTx = txLost = false;
    if (isRollback) return done(req.id);
    throw Object.assign(
      new Error(
        `the connection to PostgreSQL was lost inside a transaction (${lost?.message ?? "closed"}): it was rolled back`,
      ),
      { code: "CONNECTION_LOST" },
    );
  }
  // no connection, no transaction on the server to roll back: answered without making one (after
  // a timeout, to a server that may not answer)
  if (isRollback && !client) return done(req.id);
  let c = client ?? (await connect());
  let name = names.get(text);
  if (name === undefined && !isBegin && !isEnd && !req.simple) names.set(text, (name = `cp${nextName++}`));
  const wasInTx = inTx;
  try {
    let r: pg.QueryResult;
    try {
      r = req.simple ? await c.query(text) : await c.query({ text, values: req.args, name });
    } catch (err) {
      if (name !== undefined && isStalePlan(err)) {
        // a migration made since it was prepared (a newer node or CLI adding a column) changed
        // what the statement returns, and the server refuses its plan until the session ends:
        // prepared again under a new name (node-postgres remembers a name as prepared), the old
        // one deallocated. Inside a transaction, which the refusal aborted, only for the next call
        const stale = name;
        names.set(text, (name = `cp${nextName++}`));
        if (wasInTx) throw err;
        await c.query(`DEALLOCATE ${stale}`);
        r = await c.query({ text, values: req.args, name });
        if (isBegin) inTx = true;
        return { id: req.id, ok: true, rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0 };
      }
      // Outside a transaction a statement that met a connection already lost (the server
      // restarted while this one was idle) never ran: it is sent again, once, on a new connection.
      // Inside one it is not: the transaction is gone with its connection.
      if (timedOut || !connectionLost(err)) throw err;
      if (client === c) client = null;
      if (wasInTx) {
        lost = err as Error;
        txLost = true;
        throw err;
      }
      c = await connect();
      if (name !== undefined) names.set(text, name);
      r = req.simple ? await c.query(text) : await c.query({ text, values: req.args, name });
    }
    if (isBegin) inTx = true;
    return { id: req.id, ok: true, rows: r.rows as Record<string, unknown>[], rowCount: r.rowCount ?? 0 };
  } finally {
    // a COMMIT or ROLLBACK ends the transaction also when it fails (on the server, or with its
    // connection): one that stayed open, or lost, would fail every call after it
    if (isEnd) inTx = txLost = false;
  }
}

/** `req` answered, or past its timeout its connection closed and TIMEOUT answered. */
async function serve(req: BridgeRequest): Promise<BridgeReply> {
  timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    const c = client ?? connecting;
    client = null;
    if (inTx) {
      txLost = true;
      lost = new Error(`no answer within ${req.timeoutMs} ms: the connection was closed`);
    }
    // the request's pending statement (or connection attempt) fails with the closed socket
    if (c) destroy(c);
  }, req.timeoutMs);
  try {
    return await handle(req);
  } catch (err) {
    const e = (timedOut ? timeoutError() : err) as { message?: string; code?: string; detail?: string };
    return { id: req.id, ok: false, message: String(e.message ?? err), code: e.code, detail: e.detail };
  } finally {
    clearTimeout(timer);
    timedOut = false;
  }
}

function post(reply: BridgeReply): void {
  try {
    port.postMessage(reply);
  } catch (err) {
    // rows that cannot be cloned: the call fails, and the requests behind it still run
    port.postMessage({
      id: reply.id,
      ok: false,
      message: `its reply could not be passed on: ${(err as Error).message}`,
    });
  }
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

let queue: Promise<void> = Promise.resolve();
port.on("message", (req: BridgeRequest) => {
  queue = queue.then(() => serve(req)).then(post);
});
