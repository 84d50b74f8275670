/**
 * A worker for oracle/test/rpc.test.ts, served by `serveRpc`: it echoes, throws, answers with
 * something that cannot be posted, moves bytes, exits, or answers later (a promise), as the
 * request says.
 */
import { serveRpc } from "../src/threads/rpc.ts";

type Req =
  | { op: "echo"; value: unknown }
  | { op: "throw"; message: string }
  | { op: "unclonable" }
  | { op: "bytes"; n: number }
  | { op: "exit"; code: number }
  | { op: "later"; value: unknown; ms: number }
  | { op: "reject"; message: string }
  | { op: "later-unclonable" };
serveRpc<Req>(
  (m) => {
    switch (m.op) {
      case "echo":
        return m.value;
      case "throw":
        throw new Error(m.message);
      case "unclonable":
        return () => 1; // a function cannot be posted: the caller gets an error, not silence
      case "bytes":
        return new Uint8Array(m.n).fill(7);
      case "exit":
        process.exit(m.code);
      case "later":
        return new Promise((resolve) => setTimeout(() => resolve(m.value), m.ms));
      case "reject":
        return Promise.reject(new Error(m.message));
      case "later-unclonable":
        return Promise.resolve(() => 1);
    }
  },
  () => {},
  (result) => (result instanceof Uint8Array ? [result.buffer as ArrayBuffer] : []),
);
