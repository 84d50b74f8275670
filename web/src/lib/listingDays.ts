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

/** How far ahead of the chain's clock the browser's may be taken as right (see listingExpiry). */
export const BROWSER_CLOCK_LEAD_S = 15 * 60;

/**
 * When a listing open for `days` expires (unix s). The Marketplace measures the expiry against the
 * chain's clock (`chainS`: the head's timestamp when the listings were read, plus the time since),
 * so it counts from there. The browser's clock (`wallS`) is taken instead when it is ahead by a
 * little, up to BROWSER_CLOCK_LEAD_S: an idle local chain's head lags the time its next block will
 * get. A browser clock further ahead than that is wrong (a listing asked for 1 day stayed open a
 * year from a machine set a year ahead); one behind never counts (on the demo chain, moved 3 days
 * ahead, "1 day" from the browser's clock was already past on chain and reverted).
 */
export function listingExpiry(days: number, wallS: number, chainS: number): number {
  return Math.max(chainS, Math.min(wallS, chainS + BROWSER_CLOCK_LEAD_S)) + days * 86_400;
}
