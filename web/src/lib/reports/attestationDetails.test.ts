import { test } from "node:test";
import assert from "node:assert/strict";
import type { AttestationDetail, AttestationSummary, ExplorerIndexer } from "@carbonproof/subgraph/client";
import { DETAIL_READS_AT_ONCE, attestationDetails } from "./facility.ts";

test("a report reads its attestations' details a few at a time, every one in the period, none outside", async () => {
  // stands in for the indexer (the embedded one or a subgraph), counting the reads in flight
  let inFlight = 0;
  let peak = 0;
  const asked: string[] = [];
  const ix = {
    attestation: async (id: string) => {
      asked.push(id);
      peak = Math.max(peak, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return { id } as unknown as AttestationDetail;
    },
  } as unknown as ExplorerIndexer;
  const day = 86_400n;
  // 2,000 hourly batches from day 100, and one before the period
  const attestations = Array.from({ length: 2_001 }, (_, i) => ({
    id: `0x${i.toString(16).padStart(64, "0")}`,
    periodStart: 100n * day + BigInt(i - 1) * 3600n,
  })) as unknown as AttestationSummary[];
  const details = await attestationDetails(ix, { attestations }, { fromDay: 100, toDay: 200 });
  assert.equal(details.length, 2_000);
  assert.equal(asked.includes(attestations[0]!.id), false, "the one before the period is not read");
  assert.ok(peak <= DETAIL_READS_AT_ONCE, `${peak} reads at once`);
  assert.ok(peak > 1, "side by side");
});
