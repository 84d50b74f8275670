import assert from "node:assert/strict";
import { createServer } from "node:net";
import { describe, it } from "node:test";
import { freePort } from "./ports.ts";

describe("freePort", () => {
  it("never hands out a port twice, even when the kernel offers it again", async () => {
    // a stand-in for the kernel's port-0 choice (the real one repeats too rarely to test on)
    const offers = [41001, 41001, 41002, 41001, 41002, 41003];
    const source = async () => offers.shift()!;
    assert.deepEqual([await freePort(source), await freePort(source), await freePort(source)], [41001, 41002, 41003]);
  });

  it("gives up with a clear error when the kernel keeps offering ports already handed out", async () => {
    const taken = await freePort(async () => 41010);
    await assert.rejects(
      freePort(async () => taken),
      /not handed out already, after 100 tries/,
    );
  });

  it("gives distinct loopback ports a server can listen on", async () => {
    const ports = await Promise.all(Array.from({ length: 50 }, () => freePort()));
    assert.equal(new Set(ports).size, ports.length);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(ports[0], "127.0.0.1", () => resolve());
    });
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
