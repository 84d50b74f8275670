import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { readingDigestHex } from "../../sdk/src/index.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import type { Batch } from "../src/storage/types.ts";
import { HardhatNode, chainTestNode, deploy, readingPoster, type Deployment } from "./chain-harness.ts";
import { flueGas, makeDevice } from "./fixtures.ts";
import { tempDir, waitFor } from "./helpers.ts";

/** The sdk methodology under another id: what a node upgraded to a new methodology version computes with. */
const NEXT_METHODOLOGY = `0x${"0e".repeat(32)}` as const;
class NextMethodology extends SdkCalculator {
  override readonly methodologyId = NEXT_METHODOLOGY;
}

/**
 * A node upgraded to a new methodology while a late reading waits in an open correction of a
 * period attested with the old one, on a real Hardhat node with the contracts deployed. The
 * registry takes a correction only with its original's methodology
 * (AttestationRegistryMethodologyMismatch: CarbonCredits scopes a project by facility and
 * methodology), so the node must not send one: the reading is set aside with its reason (a dead
 * letter, the reading kept in a failed correction), and a later late reading of that period is
 * refused as too late at ingest.
 */
describe("a correction keeps its original's methodology across a node upgrade", { timeout: 600_000 }, () => {
  let hh: HardhatNode;
  let dep: Deployment;
  const tmp = tempDir();
  const d = makeDevice("method-chimney-1", "method-upgrade");
  before(async () => {
    hh = await HardhatNode.start();
    dep = await deploy(hh.url);
    await dep.registerDevice(d.deviceId, d.facilityId, d.publicKey, 0);
  });
  after(async () => {
    await hh?.stop();
    tmp.cleanup();
  });

  test("late readings taken before the upgrade are set aside, not sent; later ones are refused as too late", async () => {
    await hh.rpc("evm_setAutomine", [false]);
    let node = await chainTestNode(hh, dep, { dir: tmp.dir });
    let late: ReturnType<typeof flueGas>;
    let regular: Batch;
    let correctionId: number;
    try {
      const post = readingPoster(node, d);
      const first = flueGas(d);
      assert.equal((await post(first)).status, 201);
      // sealed, pinned with the old methodology, sent, and held unmined
      regular = await waitFor(
        () => {
          const r = node.storage.getReading(readingDigestHex(first.reading));
          const b = r?.batchId == null ? null : node.storage.getBatch(r.batchId);
          return b?.state === "submitted" ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 50, what: "the regular batch submitted" },
      );
      assert.equal(regular.methodologyId, new SdkCalculator().methodologyId, "pinned with the old methodology");
      late = flueGas(d, { ts: regular.periodStart });
      const answer = await post(late);
      assert.equal(answer.status, 201, JSON.stringify(answer.body));
      correctionId = answer.body.batchId!;
      assert.equal(node.storage.getBatch(correctionId)!.correctionOfBatch, regular.id, "in an open correction");
    } finally {
      await node.close();
    }

    node = await chainTestNode(hh, dep, { dir: tmp.dir, parts: { calculator: new NextMethodology() } });
    try {
      await hh.rpc("evm_setAutomine", [true]);
      await hh.rpc("evm_mine");
      const done = await waitFor(
        () => {
          const b = node.storage.getBatch(correctionId)!;
          return b.state === "failed" || b.state === "submitted" || b.state === "confirmed" ? b : null;
        },
        { timeoutMs: 60_000, intervalMs: 100, what: "the correction failed or sent" },
      );
      assert.equal(node.storage.getBatch(regular.id)!.state, "confirmed");
      assert.equal(done.state, "failed", `the correction is not sent: ${done.state} ${done.error ?? ""}`);
      assert.equal(done.txHash, null, "no transaction");
      assert.match(
        done.error ?? "",
        new RegExp(`attested with methodology ${regular.methodologyId} .*this node computes with ${NEXT_METHODOLOGY}`),
      );
      // kept, with its reason: in the failed correction, and a dead letter
      const digest = readingDigestHex(late.reading);
      assert.equal(node.storage.getReading(digest)?.batchId, correctionId, "the reading is kept");
      const [dead] = node.storage.listDeadLetters({ limit: 5, reason: "too-late", deviceId: d.deviceId });
      assert.equal(dead?.digest, digest);
      assert.match(dead!.detail, /a correction keeps its original's methodology/);

      // a reading of that period arriving now: refused at ingest, saying why
      const again = flueGas(d, { ts: regular.periodStart + 1 });
      const refused = await readingPoster(node, d)(again);
      assert.equal(refused.status, 422, JSON.stringify(refused.body));
      assert.equal(refused.body.reason, "too-late");
      assert.match(JSON.stringify(refused.body), /this node computes with 0x(0e){32}/);
      assert.equal(node.storage.getReading(readingDigestHex(again.reading)), null);
      assert.deepEqual(
        node.storage.listBatches({ facilityId: d.facilityId }).map((b) => [b.state, b.correctionOfBatch]),
        [
          ["confirmed", null],
          ["failed", regular.id],
        ],
      );
    } finally {
      await node.close();
    }
  });
});
