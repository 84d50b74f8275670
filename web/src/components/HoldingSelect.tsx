import type { readPortfolio } from "@/lib/chain/reads.ts";
import { formatTonnes } from "@/lib/units.ts";

type Holding = Awaited<ReturnType<typeof readPortfolio>>["holdings"][number];

/** The field choosing which of the wallet's credits to act on (retire, list for sale): each with its balance. */
export function HoldingSelect({
  id,
  holdings,
  value,
  onChange,
}: {
  id: string;
  holdings: readonly Holding[];
  /** the chosen credit's token id; undefined: none chosen (the one asked for is not held) */
  value: bigint | undefined;
  /** the token id chosen, as the option's text */
  onChange: (tokenText: string) => void;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>Credit</label>
      <select id={id} value={value?.toString() ?? ""} onChange={(e) => onChange(e.target.value)}>
        {value === undefined ? (
          <option value="" disabled>
            Choose a credit
          </option>
        ) : null}
        {holdings.map((h) => (
          <option key={h.tokenId.toString()} value={h.tokenId.toString()}>
            {h.projectName} {h.vintage}: {formatTonnes(h.balanceKg)} held
          </option>
        ))}
      </select>
    </div>
  );
}
