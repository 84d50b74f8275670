import { test } from "node:test";
import assert from "node:assert/strict";
import {
  chooseHolding,
  initialIrreversibleForm,
  irreversibleFormReducer as reduce,
  type IrreversibleFormState,
} from "./irreversibleForm.ts";

const holdings = [
  { tokenId: 65_538n, balanceKg: 4_000n },
  { tokenId: 131_074n, balanceKg: 500n },
];

test("a ?token= the wallet no longer holds is said, not silently swapped for another credit", () => {
  assert.deepEqual(chooseHolding(holdings, "131074"), { kind: "held", holding: holdings[1] });
  assert.deepEqual(chooseHolding(holdings, "999"), { kind: "not-held", tokenText: "999" });
  assert.deepEqual(chooseHolding(holdings, ""), { kind: "held", holding: holdings[0] });
  assert.deepEqual(chooseHolding([], ""), { kind: "none" });
});

test("the amount starts empty: nothing defaults to the whole balance", () => {
  assert.equal(initialIrreversibleForm("65538").amountText, "");
  assert.equal(initialIrreversibleForm().confirmed, false);
});

test("the 'this is permanent' box is cleared when the amount, the credit or the action changes", () => {
  const armed: IrreversibleFormState = { tokenText: "65538", amountText: "1.5", confirmed: true };
  assert.deepEqual(reduce(armed, { type: "amount", amountText: "15" }), {
    tokenText: "65538",
    amountText: "15",
    confirmed: false,
  });
  assert.deepEqual(reduce(armed, { type: "token", tokenText: "131074" }), {
    tokenText: "131074",
    amountText: "",
    confirmed: false,
  });
  assert.equal(reduce(armed, { type: "changed" }).confirmed, false);
  assert.equal(reduce(armed, { type: "amount", amountText: "1.5" }).confirmed, true, "the same text is no change");
});

test("after a retirement went through, the form is disarmed: box cleared, amount emptied", () => {
  const armed: IrreversibleFormState = { tokenText: "65538", amountText: "1.5", confirmed: true };
  assert.deepEqual(reduce(armed, { type: "succeeded" }), { tokenText: "65538", amountText: "", confirmed: false });
  assert.equal(reduce(reduce(armed, { type: "succeeded" }), { type: "confirm", confirmed: true }).confirmed, true);
});
