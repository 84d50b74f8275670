import { createServer } from "node:net";

/** A loopback port the kernel has free now (bind to port 0, read it, close). */
export function kernelFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port assigned")),
      );
    });
  });
}

/** Every port handed out by `freePort` in this process. */
const handedOut = new Set<number>();

/**
 * A free loopback port for a test, a benchmark or the local stack to listen on, never one this
 * process was given before. The kernel hands a port that was just closed out again now and then
 * (1 pair in ~2,000 consecutive asks here): a test that asked for an MQTT and an HTTP port got
 * the same one, and its node failed to start with EADDRINUSE. `source` is the kernel unless a
 * test of this function says otherwise.
 */
export async function freePort(source: () => Promise<number> = kernelFreePort): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = await source();
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no loopback port that was not handed out already, after 100 tries (${handedOut.size} handed out)`);
}
