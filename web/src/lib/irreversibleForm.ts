/**
 * The state of a form that ends in something that cannot be undone (retiring credits, buying and
 * retiring them): which credit, how much, and the "I understand that this is permanent" box.
 * The box is an acknowledgement of one amount of one credit, so it is cleared whenever either
 * changes, and after the retirement went through; the amount starts empty and is cleared after
 * success, so nothing is armed to be sent twice. Used with React's useReducer.
 */

export type IrreversibleFormState = {
  /** token id of the credit asked for (`?token=` or the select), "" for none in particular */
  tokenText: string;
  amountText: string;
  confirmed: boolean;
};

export type IrreversibleFormAction =
  | { type: "token"; tokenText: string }
  | { type: "amount"; amountText: string }
  | { type: "confirm"; confirmed: boolean }
  /** anything else the box acknowledges changed (buy only vs. buy and retire) */
  | { type: "changed" }
  | { type: "succeeded" };

export function initialIrreversibleForm(tokenText = "", amountText = ""): IrreversibleFormState {
  return { tokenText, amountText, confirmed: false };
}

export function irreversibleFormReducer(
  state: IrreversibleFormState,
  action: IrreversibleFormAction,
): IrreversibleFormState {
  switch (action.type) {
    case "token":
      if (action.tokenText === state.tokenText) return state;
      // another credit: its own amount and its own acknowledgement
      return { tokenText: action.tokenText, amountText: "", confirmed: false };
    case "amount":
      if (action.amountText === state.amountText) return state;
      return { ...state, amountText: action.amountText, confirmed: false };
    case "confirm":
      return { ...state, confirmed: action.confirmed };
    case "changed":
      return { ...state, confirmed: false };
    case "succeeded":
      return { ...state, amountText: "", confirmed: false };
  }
}

/** What the `?token=` (or chosen) credit comes to among the wallet's holdings. */
export type HoldingChoice<H> =
  | { kind: "held"; holding: H }
  /** asked for a credit the wallet does not hold (any more): said, never swapped for another */
  | { kind: "not-held"; tokenText: string }
  | { kind: "none" };

export function chooseHolding<H extends { tokenId: bigint }>(
  holdings: readonly H[],
  tokenText: string,
): HoldingChoice<H> {
  if (tokenText === "") return holdings[0] ? { kind: "held", holding: holdings[0] } : { kind: "none" };
  const holding = holdings.find((h) => h.tokenId.toString() === tokenText);
  return holding ? { kind: "held", holding } : { kind: "not-held", tokenText };
}
