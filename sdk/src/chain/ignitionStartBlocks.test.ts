import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { ignitionStartBlocks } from "./ignitionStartBlocks.ts";

const confirm = (futureId: string, blockNumber: number, contractAddress?: string) =>
  JSON.stringify({ futureId, type: "TRANSACTION_CONFIRM", receipt: { blockNumber, contractAddress } });

test("ignitionStartBlocks: each contract's deployment block from the directory's journal; none without one; a damaged line named", () => {
  const dir = mkdtempSync(join(tmpdir(), "ignition-"));
  try {
    assert.deepEqual(ignitionStartBlocks(dir), new Map(), "no journal (addresses written by hand)");
    writeFileSync(
      join(dir, "journal.jsonl"),
      [
        JSON.stringify({ type: "RUN_START", chainId: 31337 }),
        confirm("CarbonProof#OracleSet", 7, "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"),
        confirm("CarbonProof#AttestationRegistry", 9, "0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0"),
        confirm("CarbonProof#grantVerifier", 11),
        "",
      ].join("\n"),
    );
    assert.deepEqual(
      ignitionStartBlocks(dir),
      new Map([
        ["CarbonProof#OracleSet", 7],
        ["CarbonProof#AttestationRegistry", 9],
      ]),
    );
    writeFileSync(join(dir, "journal.jsonl"), `${confirm("CarbonProof#OracleSet", 7, "0x1")}\n{"futureId":"Carb`);
    assert.throws(() => ignitionStartBlocks(dir), {
      code: "INVALID_IGNITION_JOURNAL",
      message: /Line 2 of .*journal\.jsonl is not JSON/,
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
