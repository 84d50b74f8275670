/**
 * The "Open for (days)" field of a new listing. The text is kept as typed (clamping each keystroke
 * turned a cleared "30" into 1 and a typed 90 into 190); it is read here, when it is checked and
 * when the listing is sent, and a value out of range is an error in words, never silently changed.
 */

export const MIN_LISTING_DAYS = 1;
export const MAX_LISTING_DAYS = 365;

export function parseListingDays(text: string): { ok: true; value: number } | { ok: false; error: string } {
  const t = text.trim();
  const range = `${MIN_LISTING_DAYS} to ${MAX_LISTING_DAYS}`;
  if (t === "") return { ok: false, error: `Enter how many days the listing stays open (${range}).` };
  if (!/^\d+$/.test(t)) return { ok: false, error: `Enter a whole number of days, ${range}.` };
  const days = Number(t);
  if (days < MIN_LISTING_DAYS || days > MAX_LISTING_DAYS)
    return { ok: false, error: `A listing stays open ${range} days; ${t} is outside that.` };
  return { ok: true, value: days };
}
