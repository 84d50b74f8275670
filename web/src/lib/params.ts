/**
 * A dynamic route segment as the user typed it: percent-decoded, or as it came when it is not
 * valid percent-encoding (`%E0%A4%A`), where `decodeURIComponent` throws and the page would
 * answer 500 instead of saying that nothing goes by that name.
 */
export function decodeParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}
