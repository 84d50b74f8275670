import assert from "node:assert/strict";
import { test } from "node:test";
import { begin, ended, IDLE, prepared, type VerifyInput } from "./verifyRun.ts";

const ID = `0x${"ab".repeat(32)}` as const;
const attestation: VerifyInput = {
  target: { attestationId: ID },
  what: `attestation ${ID}`,
  audit: { kind: "attestation", id: ID },
  again: "Press Verify to check it again.",
};
const pasted: VerifyInput = { target: { tokenId: 65537n }, what: "pasted JSON", again: "Press Verify pasted JSON." };

test("an input looked up then walked: one ticket from the lookup to the walk's end, then inputs are taken again", () => {
  const a = begin(IDLE, "looking-up", ID);
  assert.equal(a.ticket, 1);
  assert.deepEqual(a.state.busy, { ticket: 1, stage: "looking-up", what: ID });
  const checking = prepared(a.state, 1, attestation);
  assert.deepEqual(checking.busy, { ticket: 1, stage: "checking", what: attestation.what });
  assert.deepEqual(checking.run, { ...attestation, n: 1 });
  const done = ended(checking, 1);
  assert.equal(done.busy, undefined);
  assert.deepEqual(done.run, checking.run, "the result stays shown");
  assert.equal(begin(done, "reading", "pasted JSON").ticket, 2);
});

test("while an input is looked up, read or checked, no other is taken: a second click starts nothing", () => {
  const looking = begin(IDLE, "looking-up", ID).state;
  for (const stage of ["looking-up", "reading"] as const) {
    const again = begin(looking, stage, "another");
    assert.equal(again.ticket, undefined, `${stage} during a lookup`);
    assert.equal(again.state, looking, "the state is unchanged");
  }
  const checking = prepared(looking, 1, attestation);
  const during = begin(checking, "reading", "pasted JSON");
  assert.equal(during.ticket, undefined, "a paste during a walk");
  assert.equal(during.state, checking);
});

test("an answer under a ticket that is not current changes nothing: a stale result never overwrites a newer one", () => {
  // walk 1 ends, input 2 is being looked up
  const first = ended(prepared(begin(IDLE, "looking-up", ID).state, 1, attestation), 1);
  const second = begin(first, "reading", "pasted JSON");
  assert.equal(second.ticket, 2);
  // a late answer of input 1's lookup, and walk 1's end reported again
  assert.equal(prepared(second.state, 1, pasted), second.state);
  assert.equal(prepared(second.state, 1, "not an id"), second.state);
  assert.equal(ended(second.state, 1), second.state);
  // the walk of input 2 cannot be prepared twice, nor ended before it runs
  assert.equal(ended(second.state, 2), second.state, "not ended while it is only being read");
  const walking = prepared(second.state, 2, pasted);
  assert.equal(prepared(walking, 2, attestation), walking);
  assert.equal(walking.run?.what, "pasted JSON");
  // nor ended by the old walk's Lineage (a different key, unmounted) saying so late
  assert.equal(ended(walking, 1), walking);
  assert.equal(ended(walking, 2).busy, undefined);
});

test("an input that names nothing ends at once with the reason, replacing the walk shown; the next input clears it", () => {
  const shown = ended(prepared(begin(IDLE, "looking-up", ID).state, 1, attestation), 1);
  const taken = begin(shown, "looking-up", "0x12");
  assert.deepEqual(taken.state.run, shown.run, "the last walk stays shown while the next input is looked up");
  const refused = prepared(taken.state, 2, "“0x12” is not an id");
  assert.deepEqual(refused, { last: 2, problem: "“0x12” is not an id" });
  const next = begin(refused, "reading", "pasted JSON");
  assert.equal(next.state.problem, undefined, "the last problem goes with the next input");
  assert.equal(next.ticket, 3);
});
