import { type NextRequest } from "next/server";
import { malformedPathPage, malformedSegment } from "@/lib/malformedPath.ts";

/**
 * Refuses an address whose path is not valid percent-encoding with a 400 that says so (Next.js
 * would answer a bare 500 for it on every dynamic route). Everything else passes untouched.
 */
export function proxy(request: NextRequest): Response | undefined {
  const pathname = new URL(request.url).pathname;
  const segment = pathname.includes("%") ? malformedSegment(pathname) : null;
  if (segment === null) return undefined;
  return new Response(malformedPathPage(pathname, segment), {
    status: 400,
    headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
  });
}

export const config = {
  // every page and route handler, so a route added later is covered without listing it here;
  // not Next.js's own assets (they have no percent-encoded segments to decode)
  matcher: ["/((?!_next/static|_next/image|favicon\\.ico).*)"],
};
