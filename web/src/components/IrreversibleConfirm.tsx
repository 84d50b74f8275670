"use client";

/** The "this cannot be undone" acknowledgement every retirement needs before the button unlocks. */
export function IrreversibleConfirm({
  checked,
  onChange,
  amountText,
}: {
  checked: boolean;
  onChange: (v: boolean) => void;
  amountText: string;
}) {
  return (
    <div className="panel" role="group" aria-labelledby="irreversible-heading">
      <p id="irreversible-heading">
        <strong>Retirement cannot be undone.</strong> {amountText} will be burned for good and can never be sold,
        transferred or retired again. The certificate is permanent and public.
      </p>
      <div className="check" style={{ display: "flex", gap: "0.5rem", alignItems: "center" }}>
        <input
          id="confirm-irreversible"
          type="checkbox"
          checked={checked}
          onChange={(e) => onChange(e.target.checked)}
        />
        <label htmlFor="confirm-irreversible" style={{ margin: 0 }}>
          I understand that this retirement is permanent.
        </label>
      </div>
    </div>
  );
}
