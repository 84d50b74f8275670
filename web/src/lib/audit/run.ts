/**
 * Runs the sdk's lineage walk in the browser with the deployment's addresses and event-read
 * settings (CARBONPROOF_START_BLOCK, CARBONPROOF_LOG_RANGE_BLOCKS), WebCrypto for
 * device signatures (in Web Workers; in the page, or @noble/curves where there is no WebCrypto),
 * and times it.
 */
import type { PublicClient } from "viem";
import { nobleSignatureVerifier, webCryptoSignatureVerifier } from "../../../../sdk/src/verify/signatures.ts";
import { verifyLineage, type LineageReport, type LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import type { RuntimeConfig } from "../config.ts";
import { runtimeEventReads, walkEventOptions } from "../chain/events.ts";
import { appBundleSource } from "./source.ts";
import { workerSignatureVerifier } from "./workerVerifier.ts";

let shared: ReturnType<typeof workerSignatureVerifier> | null = null;
/** One pool of signature workers per page, started on first use. */
function pageSignatureVerifier() {
  // `?signatures=page` keeps them on the page's thread (for comparing, and a way out).
  if (typeof location !== "undefined" && new URLSearchParams(location.search).get("signatures") === "page")
    return webCryptoSignatureVerifier() ?? nobleSignatureVerifier;
  if (shared === null) {
    const cores = typeof navigator === "undefined" ? 2 : navigator.hardwareConcurrency || 2;
    shared = workerSignatureVerifier(Math.min(4, Math.max(1, cores)));
  }
  return shared ?? webCryptoSignatureVerifier() ?? nobleSignatureVerifier;
}

export type AuditRun = { report: LineageReport; verifyMs: number; signatures: string };

export async function runAudit(
  client: PublicClient,
  runtime: RuntimeConfig,
  target: LineageTarget,
  onProgress: (report: LineageReport) => void,
): Promise<AuditRun> {
  const a = runtime.addresses;
  if (!a.AttestationRegistry) throw new Error("No AttestationRegistry address is configured for this chain.");
  const signatures = pageSignatureVerifier();
  const started = performance.now();
  const report = await verifyLineage({
    client,
    registry: a.AttestationRegistry,
    ...(a.DeviceRegistry ? { deviceRegistry: a.DeviceRegistry } : {}),
    ...(a.CarbonCredits ? { credits: a.CarbonCredits } : {}),
    ...(a.RetirementCertificates ? { certificates: a.RetirementCertificates } : {}),
    ...(a.Marketplace ? { marketplace: a.Marketplace } : {}),
    // the deployment's events from its first block, in the configured ranges
    ...walkEventOptions(runtimeEventReads(runtime)),
    source: appBundleSource(runtime),
    signatures,
    target,
    onProgress,
  });
  return { report, verifyMs: Math.round(performance.now() - started), signatures: signatures.describe };
}

/** PASS, FAIL or SKIP, as the CLI prints it. */
export function verdictOf(check: { ok: boolean; skipped?: boolean }): "PASS" | "FAIL" | "SKIP" {
  return check.skipped ? "SKIP" : check.ok ? "PASS" : "FAIL";
}
