/**
 * The first segment of a URL path that is not valid percent-encoding (`%E0%A4%A`, `%ZZ`), or
 * null. Next.js answers such a path to a dynamic route with a bare 500 before any page runs, so
 * the proxy (src/proxy.ts) refuses it first with a 400 that says what is wrong with the address.
 */
export function malformedSegment(pathname: string): string | null {
  for (const segment of pathname.split("/")) {
    if (!segment.includes("%")) continue;
    try {
      decodeURIComponent(segment);
    } catch {
      return segment;
    }
  }
  return null;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** The 400 page for such an address: what is wrong, and where to go instead. */
export function malformedPathPage(pathname: string, segment: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Malformed address · CarbonProof</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.5">
<main>
<h1>Malformed address</h1>
<p>The part “<code>${escapeHtml(segment)}</code>” of <code>${escapeHtml(pathname)}</code> is not valid percent-encoding (a <code>%</code> must be followed by two hex digits that spell UTF-8), so no page can be looked up by it.</p>
<p>Check the link you followed, or <a href="/explorer/search">search the explorer</a> for the id.</p>
</main>
</body></html>
`;
}
