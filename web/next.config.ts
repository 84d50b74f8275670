import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  reactStrictMode: true,
  // NEXT_DIST_DIR lets parallel builds (benchmarks, a second checkout's e2e) keep their own output.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  poweredByHeader: false,
  // every answer: no content-type sniffing (a bundle or CSV is never run as a script), never framed
  // by another site (no click-jacking of the buy and retire buttons), no full URL to other sites
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "strict-origin-when-cross-origin" },
        ],
      },
    ];
  },
  // The sdk is TypeScript source inside the same npm workspace.
  transpilePackages: ["@carbonproof/sdk"],
  turbopack: {
    root: join(here, ".."),
    resolveAlias: {
      // wagmi's Base Account connector pulls in the Coinbase CDP SDK and, through it, optional
      // `@x402/*` packages that are not installed; this app offers the injected wallet only.
      "@coinbase/cdp-sdk": "./src/lib/chain/absent-module.ts",
    },
  },
};

export default config;
