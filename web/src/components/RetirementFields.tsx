"use client";

import type { FieldErrors, RetirementForm } from "@/lib/retirement.ts";

/** The beneficiary, reason and optional consumption country/period of a retirement. */
export function RetirementFields({
  form,
  onChange,
  errors,
  ownAddress,
}: {
  form: RetirementForm;
  onChange: (next: RetirementForm) => void;
  errors: FieldErrors;
  ownAddress: string | undefined;
}) {
  const field = (
    key: keyof RetirementForm,
    label: string,
    hint: string | undefined,
    props: Record<string, unknown> = {},
  ) => {
    const id = `r-${key}`;
    const err = errors[key];
    const describedBy = [hint ? `${id}-hint` : "", err ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
    return (
      <div className="field">
        <label htmlFor={id}>{label}</label>
        <input
          id={id}
          name={key}
          value={form[key]}
          aria-invalid={err ? true : undefined}
          aria-describedby={describedBy}
          onChange={(e) => onChange({ ...form, [key]: e.target.value })}
          {...props}
        />
        {hint ? (
          <p id={`${id}-hint`} className="hint">
            {hint}
          </p>
        ) : null}
        {err ? (
          <p id={`${id}-error`} className="error">
            {err}
          </p>
        ) : null}
      </div>
    );
  };
  return (
    <fieldset className="panel">
      <legend>Retirement certificate</legend>
      {field("beneficiaryName", "Beneficiary name", "Printed on the certificate (up to 64 bytes).", {
        autoComplete: "organization",
      })}
      {field("beneficiary", "Beneficiary address", "Receives the non-transferable certificate.", { spellCheck: false })}
      {ownAddress && form.beneficiary.toLowerCase() !== ownAddress.toLowerCase() ? (
        <p>
          <button type="button" className="secondary" onClick={() => onChange({ ...form, beneficiary: ownAddress })}>
            Use my address
          </button>
        </p>
      ) : null}
      {field("reason", "Reason", "Why the credits are retired, e.g. “FY2026 scope 1 offset” (up to 160 bytes).")}
      <div className="grid-2">
        {field("country", "Consumption country (optional)", "ISO 3166-1 alpha-3, e.g. KEN.", {
          maxLength: 3,
          autoCapitalize: "characters",
        })}
        {field("periodStart", "Consumption period from (optional)", undefined, { type: "date" })}
        {field("periodEnd", "Consumption period to (optional)", undefined, { type: "date" })}
      </div>
    </fieldset>
  );
}

export const emptyRetirementForm = (beneficiary = ""): RetirementForm => ({
  beneficiary,
  beneficiaryName: "",
  reason: "",
  country: "",
  periodStart: "",
  periodEnd: "",
});
