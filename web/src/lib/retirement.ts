/**
 * The retirement form → `RetirementDetails` (contracts/retirement), checked the
 * way RetirementCertificates checks it, so the user hears about a problem before
 * signing: name ≤ 64 bytes and reason ≤ 160 bytes of UTF-8, a beneficiary address,
 * an optional ISO 3166-1 alpha-3 consumption country and period.
 */
import { getAddress, isAddress, stringToHex, type Address, type Hex } from "viem";

export const MAX_NAME_BYTES = 64;
export const MAX_REASON_BYTES = 160;

export type RetirementForm = {
  beneficiary: string;
  beneficiaryName: string;
  reason: string;
  country: string;
  periodStart: string; // yyyy-mm-dd or ""
  periodEnd: string; // yyyy-mm-dd or "" (inclusive day)
};

export type RetirementDetails = {
  beneficiary: Address;
  beneficiaryName: string;
  reason: string;
  consumptionCountry: Hex;
  consumptionStart: bigint;
  consumptionEnd: bigint;
};

export type FieldErrors = Partial<Record<keyof RetirementForm, string>>;

const utf8Length = (s: string) => new TextEncoder().encode(s).length;

/** The earliest consumption day: the contract stores unix seconds as uint64, so nothing before 1970. */
export const FIRST_DAY = "1970-01-01";

function day(text: string): bigint | undefined {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  return Number.isNaN(ms) ? undefined : BigInt(ms / 1000);
}

export function retirementDetails(
  form: RetirementForm,
): { ok: true; value: RetirementDetails } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const beneficiary = form.beneficiary.trim();
  if (!isAddress(beneficiary, { strict: false }))
    errors.beneficiary = "Enter the beneficiary's address (0x followed by 40 hexadecimal characters).";
  else if (/^0x0{40}$/i.test(beneficiary)) errors.beneficiary = "The beneficiary cannot be the zero address.";
  const name = form.beneficiaryName.trim();
  if (!name) errors.beneficiaryName = "Enter the name to print on the certificate.";
  else if (utf8Length(name) > MAX_NAME_BYTES)
    errors.beneficiaryName = `The name is too long: at most ${MAX_NAME_BYTES} bytes (${utf8Length(name)} now).`;
  const reason = form.reason.trim();
  if (!reason) errors.reason = "Say why these credits are retired, e.g. “FY2026 scope 1 offset”.";
  else if (utf8Length(reason) > MAX_REASON_BYTES)
    errors.reason = `The reason is too long: at most ${MAX_REASON_BYTES} bytes (${utf8Length(reason)} now).`;
  const country = form.country.trim().toUpperCase();
  if (country && !/^[A-Z]{3}$/.test(country))
    errors.country = "Use the three-letter ISO 3166-1 code, e.g. KEN, GBR, DEU; or leave it empty.";
  let start = 0n;
  let end = 0n;
  if (form.periodStart || form.periodEnd) {
    const s = day(form.periodStart);
    const e = day(form.periodEnd);
    if (s === undefined) errors.periodStart = "Enter the first day of the period (or leave both dates empty).";
    else if (s < 0n) errors.periodStart = `The period cannot start before ${FIRST_DAY}.`;
    if (e === undefined) errors.periodEnd = "Enter the last day of the period (or leave both dates empty).";
    else if (e < 0n) errors.periodEnd = `The period cannot end before ${FIRST_DAY}.`;
    if (s !== undefined && e !== undefined && s >= 0n && e >= 0n) {
      if (e < s) errors.periodEnd = "The period cannot end before it starts.";
      start = s;
      end = e + 86_400n; // the last day is included; on-chain the end is exclusive
    }
  }
  if (Object.keys(errors).length) return { ok: false, errors };
  return {
    ok: true,
    value: {
      beneficiary: getAddress(beneficiary),
      beneficiaryName: name,
      reason,
      consumptionCountry: country ? stringToHex(country, { size: 3 }) : "0x000000",
      consumptionStart: start,
      consumptionEnd: end,
    },
  };
}
