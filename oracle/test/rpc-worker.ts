/**
 * A worker for oracle/test/rpc.test.ts, served by `serveRpc`: it echoes, throws, answers with
 * something that cannot be posted, moves bytes, or exits, as the request says.
 */
import { serveRpc } from "../src/threads/rpc.ts";

type Req =
  | { op: "echo"; value: unknown }
  | { op: "throw"; message: string }
  | { op: "unclonable" }
  | { op: "bytes"; n: number }
  | { op: "exit"; code: number };
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
    }
  },
  () => {},
  (result) => (result instanceof Uint8Array ? [result.buffer as ArrayBuffer] : []),
);
