import { urlForMessages } from "../url-scrub.ts";
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from "node:worker_threads";

/** A request to the client thread; not answered within `timeoutMs`, its connection is closed (TIMEOUT). */
export type BridgeRequest =
  | { id: number; timeoutMs: number; op: "connect" }
  | { id: number; timeoutMs: number; op: "close" }
  | { id: number; timeoutMs: number; op: "query"; sql: string; args: unknown[]; simple?: boolean };
export type BridgeReply =
  | { id: number; ok: true; rows: Record<string, unknown>[]; rowCount: number }
  | { id: number; ok: false; message: string; code?: string; detail?: string };

/** An error PostgreSQL (or the connection to it) answered, with its SQLSTATE `code` when it has one. */
export class PgError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code?: string) {
    super(message);
    this.name = "PgError";
    this.code = code;
  }
}

/** What to do about a connection that failed, by its cause (TLS, the server's pg_hba.conf, or no server). */
export function connectHint(err: unknown): string {
  const e = err as { code?: string; message?: string; path?: string };
  const message = e.message ?? "";
  const url = "storage.url (CARBONPROOF_ORACLE__STORAGE__URL)";
  if (e.code === "ENOENT" || e.code === "EACCES")
    return `A file named in ${url} (sslrootcert, sslcert or sslkey) cannot be read: give a path this user can read`;
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/.test(e.code ?? "") || /certificate/i.test(message))
    return `The server's certificate was not accepted: give the CA that signed it as sslrootcert in ${url} (?sslmode=verify-full&sslrootcert=/path/to/ca.pem), and connect by the host name the certificate names`;
  if (/does not support SSL/i.test(message))
    return `The server does not take TLS connections: turn ssl on at the server, or remove sslmode from ${url}`;
  if (/pg_hba\.conf/.test(message))
    return /no encryption/.test(message)
      ? `The server refused a connection without TLS: add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem to ${url}`
      : `The server refused this node (its pg_hba.conf): allow this user, database and address there, or set ${url}`;
  if (e.code === "28P01" || /password authentication failed/i.test(message))
    return `The user or password was refused: set the right ones in ${url}`;
  if (e.code === "3D000") return `The database does not exist: create it (createdb), or set ${url}`;
  return `Start the server, or set ${url} to one that accepts this node`;
}

/**
 * The server's own limits on a session of a bridge whose calls time out after `timeoutMs`:
 * `statement_timeout` a little under it (a fifth of it, at most 5 s, left for the server's error
 * to come back before the bridge gives up), so that the server cancels a statement that runs too
 * long, or waits too long for a lock, instead of running it on after the caller was told it
 * failed; and `idle_in_transaction_session_timeout` as long as the bridge's timeout, since no
 * caller waits longer than that between two statements of a transaction.
 */
export function serverTimeouts(timeoutMs: number): { statementTimeoutMs: number; idleInTxTimeoutMs: number } {
  return {
    statementTimeoutMs: Math.max(1, timeoutMs - Math.min(5_000, Math.ceil(timeoutMs / 5))),
    idleInTxTimeoutMs: Math.max(1, timeoutMs),
  };
}

/** How long after a call's timeout the calling thread still waits for the client thread's answer to it. */
const REPLY_GRACE_MS = 2_000;

const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

/**
 * Synchronous calls to PostgreSQL from any thread: the `pg` client runs on a thread of its own
 * (storage/pg-bridge-worker.ts), and the calling thread waits for each reply on a shared flag
 * (`Atomics.wait`), then takes it with `receiveMessageOnPort`. It is what lets one storage
 * logic (storage/sql-storage.ts, synchronous, as `node:sqlite` is) run on PostgreSQL too. The
 * node's hot writes (group commits) run on the ingest writer thread, so its main thread waits
 * only for its own few reads and writes.
 *
 * A call not answered within the timeout fails, and its connection is closed (the next call makes
 * a new one); a statement that runs too long is cancelled by the server a little before that
 * (`serverTimeouts`). Either way nothing of it runs on after its caller was told it failed.
 */
export class PgBridge {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #timeoutMs: number;
  readonly #statementTimeoutMs: number;
  readonly #where: string;
  #next = 0;
  #closed = false;

  /**
   * `heapLimitMb`: the client thread's old-generation limit, for a connection whose statements and
   * results are bounded (the ingest writer's: one group commit at a time); none by default.
   */
  constructor(
    url: string,
    opts: { timeoutMs?: number; connectTimeoutMs?: number; applicationName?: string; heapLimitMb?: number } = {},
  ) {
    const flag = new SharedArrayBuffer(4);
    this.#signal = new Int32Array(flag);
    const { port1, port2 } = new MessageChannel();
    this.#port = port1;
    this.#timeoutMs = opts.timeoutMs ?? 60_000;
    this.#where = urlForMessages(url, "storage.url");
    const connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    const limits = serverTimeouts(this.#timeoutMs);
    this.#statementTimeoutMs = limits.statementTimeoutMs;
    this.#worker = new Worker(new URL("./pg-bridge-worker.ts", import.meta.url), {
      workerData: {
        url,
        port: port2,
        flag,
        connectTimeoutMs,
        applicationName: opts.applicationName ?? "carbonproof-oracle",
        ...limits,
      },
      transferList: [port2],
      // No heap limit unless asked: on a connection that reads whole batches, one could stop the
      // thread (the caller would learn it as THREAD_STOPPED). A small young generation: the rows of
      // one statement at a time are short-lived.
      resourceLimits: {
        maxYoungGenerationSizeMb: 16,
        ...(opts.heapLimitMb ? { maxOldGenerationSizeMb: opts.heapLimitMb } : {}),
      },
    });
    this.#worker.unref();
    // a thread that fails is noticed by the call waiting on it (#call); no uncaught 'error' event
    this.#worker.on("error", () => {});
    try {
      this.#call({ op: "connect" }, connectTimeoutMs + 5_000);
    } catch (err) {
      void this.#worker.terminate();
      this.#closed = true;
      throw new PgError(
        `cannot connect to PostgreSQL at ${this.#where}: ${(err as Error).message}. ${connectHint(err)}`,
        (err as PgError).code,
      );
    }
  }

  /**
   * Runs one statement with `$n` parameters (prepared once per connection); its rows and the
   * number of rows it changed. `simple`: sent as text, unprepared, without parameters, so that
   * it may hold several statements (a migration).
   */
  query(sql: string, args: unknown[] = [], simple = false): { rows: Record<string, unknown>[]; rowCount: number } {
    if (this.#closed) throw new PgError(`the PostgreSQL connection to ${this.#where} is closed`);
    const reply = this.#call({ op: "query", sql, args, simple }, this.#timeoutMs);
    return { rows: reply.rows, rowCount: reply.rowCount };
  }

  get isOpen(): boolean {
    return !this.#closed;
  }

  /** Ends the connection and its thread. */
  close(): void {
    if (this.#closed) return;
    try {
      this.#call({ op: "close" }, 5_000);
    } catch {
      // the connection was gone already
    }
    this.#closed = true;
    this.#port.close();
    void this.#worker.terminate();
  }

  #call(
    req: { op: "connect" } | { op: "close" } | { op: "query"; sql: string; args: unknown[]; simple: boolean },
    timeoutMs: number,
  ): Extract<BridgeReply, { ok: true }> {
    const id = this.#next++;
    Atomics.store(this.#signal, 0, 0);
    this.#port.postMessage({ ...req, id, timeoutMs });
    const timedOut = (closed: boolean) =>
      new PgError(
        `PostgreSQL at ${this.#where} did not answer within ${duration(timeoutMs)}${closed ? ": the connection was closed, and the next call makes a new one" : ", nor did its client thread"}`,
        "TIMEOUT",
      );
    // the client thread answers TIMEOUT itself once it closed the connection; this deadline is for
    // a client thread that does not answer at all
    const deadline = Date.now() + timeoutMs + REPLY_GRACE_MS;
    for (;;) {
      const m = receiveMessageOnPort(this.#port);
      if (m) {
        const reply = m.message as BridgeReply;
        if (reply.id !== id) continue; // the late reply of a call that timed out
        if (!reply.ok) {
          if (reply.code === "TIMEOUT") throw timedOut(true);
          if (reply.code === "57014" && /statement timeout/.test(reply.message))
            throw new PgError(
              `PostgreSQL at ${this.#where} cancelled a statement still running after ${duration(this.#statementTimeoutMs)} (statement_timeout, set just under this connection's timeout of ${duration(this.#timeoutMs)}): the server is overloaded, or another session holds a lock it waited for (see pg_stat_activity)`,
              reply.code,
            );
          const text = reply.detail ? `${reply.message} (${reply.detail})` : reply.message;
          throw new PgError(text, reply.code);
        }
        return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw timedOut(false);
      // in slices, to notice a client thread that stopped (its threadId turns -1 before any event,
      // which this thread, waiting, could not receive); a reply it posted first was taken above
      if (this.#worker.threadId === -1) {
        this.#closed = true;
        throw new PgError(`the PostgreSQL client thread of ${this.#where} stopped: restart the node`, "THREAD_STOPPED");
      }
      Atomics.wait(this.#signal, 0, 0, Math.min(left, 500));
      Atomics.store(this.#signal, 0, 0);
    }
  }
}
