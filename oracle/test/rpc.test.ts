import { test } from "node:test";
import assert from "node:assert/strict";
import { WorkerRpc } from "../src/threads/rpc.ts";

const start = () => new WorkerRpc(new URL("./rpc-worker.ts", import.meta.url), {}, "test worker");

test("answers each call with its own result, in any number, and closes after the calls already posted", async () => {
  const rpc = start();
  const values = Array.from({ length: 200 }, (_, i) => ({ i, s: "x".repeat(i % 7) }));
  assert.deepEqual(await Promise.all(values.map((value) => rpc.call({ op: "echo", value }))), values);
  const last = rpc.call({ op: "echo", value: "last" });
  await rpc.close();
  assert.equal(await last, "last");
  assert.equal(rpc.failed?.message, "test worker exited (code 0)");
  await assert.rejects(rpc.call({ op: "echo", value: 1 }), /test worker exited/);
});

test("an error thrown by the handler rejects that call only, with its message and the worker's stack", async () => {
  const rpc = start();
  try {
    await assert.rejects(rpc.call({ op: "throw", message: "constraint failed" }), (err: Error) => {
      assert.equal(err.message, "constraint failed");
      assert.match(err.stack ?? "", /rpc-worker\.ts/);
      return true;
    });
    await assert.rejects(rpc.call({ op: "unclonable" }), /could not be cloned/);
    assert.equal(await rpc.call({ op: "echo", value: 7 }), 7);
    assert.equal(rpc.failed, null);
  } finally {
    await rpc.close();
  }
});

test("a result's buffers can be moved instead of copied", async () => {
  const rpc = start();
  try {
    const bytes = await rpc.call<Uint8Array>({ op: "bytes", n: 1 << 20 });
    assert.equal(bytes.byteLength, 1 << 20);
    assert.equal(bytes[12345], 7);
  } finally {
    await rpc.close();
  }
});

test("a worker that exits fails every call in flight and every later call, and says why", async () => {
  const rpc = start();
  const dying = rpc.call({ op: "exit", code: 3 });
  const queued = rpc.call({ op: "echo", value: "after" }); // posted before the exit was seen
  await assert.rejects(dying, /test worker exited \(code 3\)/);
  await assert.rejects(queued, /test worker exited \(code 3\)/);
  assert.match(rpc.failed!.message, /code 3/);
  await assert.rejects(rpc.call({ op: "echo", value: 1 }), /code 3/);
  await rpc.close(); // already gone: returns
});

test("a promise is answered once it settles, while later calls are answered meanwhile", async () => {
  const rpc = start();
  try {
    const slow = rpc.call({ op: "later", value: "slow", ms: 300 });
    let slowDone = false;
    void slow.then(() => (slowDone = true));
    assert.equal(await rpc.call({ op: "echo", value: "quick" }), "quick");
    assert.equal(slowDone, false, "the quick call did not wait for the slow one");
    assert.equal(await slow, "slow");
    await assert.rejects(rpc.call({ op: "reject", message: "refused later" }), /refused later/);
    await assert.rejects(rpc.call({ op: "later-unclonable" }), /could not be cloned/);
    assert.equal(await rpc.call({ op: "echo", value: 8 }), 8);
    assert.equal(rpc.failed, null, "the worker is still up");
  } finally {
    await rpc.close();
  }
});
