/**
 * Stands for a Kubo daemon's RPC API (`/api/v0/…`), which no test here can run: no Kubo binary
 * can be installed on this machine (../shared/TOOLCHAIN.md, IPFS). It answers the calls the node
 * makes (ipfs/kubo.ts) as Kubo does, on loopback:
 *
 * - `block/put` (multipart, one file): `{"Key","Size"}`; `cid-codec` (or the legacy `format`)
 *   and `mhtype` as Kubo takes them; a block over 1 MiB refused unless `allow-big-block=true`,
 *   with Kubo's message; `pin=true` pins it.
 * - `block/get?arg=CID`: the bytes. A block it lacks: with `offline=true` (Kubo's global
 *   `--offline`, core/commands/cmdenv `GetApi`) 500 `block was not found locally (offline): ipld:
 *   could not find CID`; without it the request waits while Kubo would ask the network, and is
 *   answered from {@link KuboStandIn.network} (blocks "a peer holds", then kept, as Kubo keeps
 *   what it fetched; one a peer gets while the request waits is served then) or never.
 * - `pin/ls?arg=CID&stream=true`: ndjson `{"Cid","Name","Type":"recursive"}`, or 500 `path 'CID' is
 *   not pinned`.
 * - Errors as Kubo's commands library sends them: HTTP 500, `{"Message","Code":0,"Type":"error"}`.
 *   An unknown path: 404 `404 page not found`. A GET: 405.
 *
 * What it does not stand for: bitswap, the gateway, garbage collection, Kubo's own repository.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";

/** Kubo's default block size limit (`--allow-big-block` lifts it). */
export const KUBO_BLOCK_LIMIT = 1024 * 1024;

export class KuboStandIn {
  /** blocks held, by CIDv1 base32 */
  readonly blocks = new Map<string, Uint8Array>();
  readonly pins = new Set<string>();
  /** blocks that "a peer on the network" holds: served to a block/get without `offline` */
  readonly network = new Map<string, Uint8Array>();
  /** every call: its path after /api/v0/ and its query */
  readonly calls: { path: string; query: URLSearchParams }[] = [];
  /** the connections of block/get requests waiting on the "network" right now */
  readonly #searches = new Set<Socket>();
  /** the CIDs whose stored bytes it serves wrong (a corrupt repository, or a service that lies) */
  readonly corrupt = new Set<string>();
  /** answer block/put with this CID instead of the bytes' (a node hashing otherwise) */
  putAnswer: string | null = null;
  #server: Server | null = null;
  readonly #sockets = new Set<Socket>();
  url = "";

  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((err) => fail(res, (err as Error).message));
    });
    this.#server.on("connection", (s) => {
      this.#sockets.add(s);
      s.on("close", () => this.#sockets.delete(s));
    });
    await new Promise<void>((r) => this.#server!.listen(0, "127.0.0.1", () => r()));
    this.url = `http://127.0.0.1:${(this.#server.address() as { port: number }).port}`;
    return this.url;
  }

  /** The calls made to `path` (e.g. `block/get`). */
  callsTo(path: string): URLSearchParams[] {
    return this.calls.filter((c) => c.path === path).map((c) => c.query);
  }

  /** block/get requests waiting on the "network" right now */
  get searching(): number {
    return this.#searches.size;
  }

  /** Ends every search of the "network" under way by dropping its connection, as a Kubo daemon that crashed mid-search. */
  dropSearches(): number {
    const n = this.#searches.size;
    for (const socket of this.#searches) socket.destroy();
    return n;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => (this.#server ? this.#server.close(() => r()) : r()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://kubo");
    if (!url.pathname.startsWith("/api/v0/")) return void res.writeHead(404).end("404 page not found\n");
    const path = url.pathname.slice("/api/v0/".length);
    if (req.method !== "POST") return void res.writeHead(405).end(`405 - Method Not Allowed`);
    this.calls.push({ path, query: url.searchParams });
    const body = await readBody(req);
    const q = url.searchParams;
    switch (path) {
      case "block/put": {
        const form = await new Request("http://kubo/", {
          method: "POST",
          headers: { "content-type": req.headers["content-type"] ?? "" },
          body: new Uint8Array(body),
        }).formData();
        let file: unknown;
        form.forEach((v) => (file ??= v));
        if (!(file instanceof Blob)) return fail(res, "file argument 'data' is required");
        const bytes = new Uint8Array(await file.arrayBuffer());
        const codec = q.get("cid-codec") ?? q.get("format") ?? "raw";
        if (codec !== "raw") return fail(res, `the stand-in only keeps raw blocks, asked for ${codec}`);
        if ((q.get("mhtype") ?? "sha2-256") !== "sha2-256") return fail(res, `unsupported mhtype ${q.get("mhtype")}`);
        if (bytes.length > KUBO_BLOCK_LIMIT && q.get("allow-big-block") !== "true")
          return fail(
            res,
            "produced block is over 1MiB: big blocks can't be exchanged with other peers. consider using UnixFS for automatic chunking of bigger files, or pass --allow-big-block to override",
          );
        const cid = CID.createV1(raw.code, await sha256.digest(bytes)).toString();
        this.blocks.set(cid, bytes);
        if (q.get("pin") === "true") this.pins.add(cid);
        return json(res, { Key: this.putAnswer ?? cid, Size: bytes.length });
      }
      case "block/get": {
        const cid = parse(q.get("arg"));
        if (!cid) return fail(res, "invalid path: argument 'cid' is required");
        const held = this.blocks.get(cid);
        if (held) {
          const out = this.corrupt.has(cid) ? held.subarray(0, Math.max(0, held.length - 1)) : held;
          res.writeHead(200, { "content-type": "text/plain", "x-stream-output": "1" });
          return void res.end(out);
        }
        if (q.get("offline") === "true")
          return fail(res, `block was not found locally (offline): ipld: could not find ${cid}`);
        const found = this.network.get(cid);
        if (found) {
          this.blocks.set(cid, found);
          res.writeHead(200, { "content-type": "text/plain", "x-stream-output": "1" });
          return void res.end(found);
        }
        // Kubo asks its peers until the client gives up: a block a peer gets meanwhile is found
        this.#searches.add(req.socket);
        const ask = setInterval(() => {
          const got = this.network.get(cid);
          if (!got) return;
          end();
          this.blocks.set(cid, got);
          res.writeHead(200, { "content-type": "text/plain", "x-stream-output": "1" });
          res.end(got);
        }, 50);
        const end = () => {
          clearInterval(ask);
          this.#searches.delete(req.socket);
          req.socket.off("close", end);
        };
        req.socket.once("close", end);
        return;
      }
      case "pin/ls": {
        const cid = parse(q.get("arg"));
        if (!cid) return fail(res, "invalid path: argument 'ipfs-path' is required");
        if (!this.pins.has(cid)) return fail(res, `path '${q.get("arg")}' is not pinned`);
        res.writeHead(200, { "content-type": "application/json", "x-stream-output": "1", "x-chunked-output": "1" });
        return void res.end(`${JSON.stringify({ Cid: cid, Name: "", Type: "recursive" })}\n`);
      }
      default:
        return void res.writeHead(404).end("404 page not found\n");
    }
  }
}

function parse(arg: string | null): string | null {
  try {
    return arg
      ? CID.parse(arg.replace(/^\/ipfs\//, ""))
          .toV1()
          .toString()
      : null;
  } catch {
    return null;
  }
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on("data", (c: Buffer) => parts.push(c));
    req.on("end", () => resolve(Buffer.concat(parts)));
    req.on("error", reject);
  });
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { "content-type": "application/json" });
  res.end(`${JSON.stringify(body)}\n`);
}

/** An error as Kubo's commands library answers it. */
function fail(res: ServerResponse, message: string): void {
  if (res.headersSent) return void res.destroy();
  res.writeHead(500, { "content-type": "application/json" });
  res.end(`${JSON.stringify({ Message: message, Code: 0, Type: "error" })}\n`);
}
