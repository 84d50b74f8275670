/**
 * Runs the sdk's lineage walk in the browser with the deployment's addresses, WebCrypto for
 * device signatures (@noble/curves where the page has no WebCrypto), and times it.
 */
import type { PublicClient } from "viem";
import { nobleSignatureVerifier, webCryptoSignatureVerifier } from "../../../../sdk/src/verify/signatures.ts";
import { verifyLineage, type LineageReport, type LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import type { RuntimeConfig } from "../config.ts";
import { appBundleSource } from "./source.ts";

export type AuditRun = { report: LineageReport; verifyMs: number; signatures: string };

export async function runAudit(
  client: PublicClient,
  runtime: RuntimeConfig,
  target: LineageTarget,
  onProgress: (report: LineageReport) => void,
): Promise<AuditRun> {
  const a = runtime.addresses;
  if (!a.AttestationRegistry) throw new Error("No AttestationRegistry address is configured for this chain.");
  const signatures = webCryptoSignatureVerifier() ?? nobleSignatureVerifier;
  const started = performance.now();
  const report = await verifyLineage({
    client,
    registry: a.AttestationRegistry,
    ...(a.DeviceRegistry ? { deviceRegistry: a.DeviceRegistry } : {}),
    ...(a.CarbonCredits ? { credits: a.CarbonCredits } : {}),
    ...(a.RetirementCertificates ? { certificates: a.RetirementCertificates } : {}),
    ...(a.Marketplace ? { marketplace: a.Marketplace } : {}),
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
