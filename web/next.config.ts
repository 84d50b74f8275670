import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";
import { dirname, join } from "node:path";

const here = dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  reactStrictMode: true,
  // NEXT_DIST_DIR lets parallel builds (benchmarks, a second checkout's e2e) keep their own output.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  poweredByHeader: false,
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
