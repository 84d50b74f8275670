"use client";

import Link from "next/link";
import { useCallback, useMemo, useState } from "react";
import type { Address, Hex } from "viem";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { carbonCreditsAbi, retirementCertificatesAbi } from "@/lib/chain/abis.ts";
import { readContractEvents } from "@/lib/chain/events.ts";
import { useChainQuery } from "@/lib/chain/hooks.ts";
import { auditHref, parseAuditTarget, type AuditKind } from "@/lib/audit/target.ts";
import { Lineage, type LineageEnd } from "./Lineage.tsx";

const INTRO: Record<AuditKind, string> = {
  certificate:
    "From the retirement certificate back to the sensors: the retirement, the purchase that delivered the credits, each issuance and its bound, each attestation, its evidence bundle, every signed reading and the devices' registered keys.",
  credit:
    "From the credit back to the sensors: each issuance and its bound, each attestation, its evidence bundle, every signed reading and the devices' registered keys.",
  attestation:
    "One attestation back to the sensors: its header and quorum, its evidence bundle, every signed reading and the devices' registered keys.",
  reading: "One signed reading: the attestation whose bundle holds it, checked back to the device's registered key.",
};

/** `/audit/<kind>/<id>`: the lineage, checked in this browser, and where it leads (credits, retirements). */
export function LineageView({ kind, id }: { kind: AuditKind; id: string }) {
  const target = useMemo(() => parseAuditTarget(kind, id), [kind, id]);
  const [attestationId, setAttestationId] = useState<Hex | undefined>(undefined);
  // also after an error: the attestation may have been found before the walk stopped
  const onDone = useCallback((end: LineageEnd) => {
    const found = end.report?.sections.find((s) => s.kind === "attestation" && s.attestationId)?.attestationId;
    if (found) setAttestationId(found);
  }, []);
  if (typeof target === "string")
    return (
      <p role="alert" className="status status--bad">
        {target}
      </p>
    );
  return (
    <>
      <p>{INTRO[kind]}</p>
      <p className="muted">
        Every check runs here, in your browser, on data it fetched itself from the chain and the evidence bundles: the
        same code as <code>carbonproof verify</code>. Nothing is taken from this site&apos;s server but the bundle
        bytes, which are hashed against their on-chain CID.
      </p>
      <Lineage target={target} onDone={onDone} />
      {(kind === "attestation" || kind === "reading") && attestationId ? <Backs attestationId={attestationId} /> : null}
    </>
  );
}

/** Where an attestation (or a reading's) leads: the credits issued from it and their retirements (navigation only). */
function Backs({ attestationId }: { attestationId: Hex }) {
  const runtime = useRuntimeConfig();
  const q = useChainQuery(
    ["audit-backs", attestationId],
    async (client, deployment) => {
      const credits = deployment.CarbonCredits;
      const certs = deployment.RetirementCertificates;
      if (!credits) return [];
      const issued = await readContractEvents<{ args: { tokenId: bigint; amount: bigint } }>(
        client,
        deployment.events,
        { address: credits, abi: carbonCreditsAbi, eventName: "CreditsIssued", args: { attestationId } },
      );
      return Promise.all(
        issued.map(async (l) => {
          const retired = certs
            ? await readContractEvents<{ args: { certificateId: bigint; beneficiary: Address } }>(
                client,
                deployment.events,
                {
                  address: certs,
                  abi: retirementCertificatesAbi,
                  eventName: "Retired",
                  args: { creditId: l.args.tokenId },
                },
              )
            : [];
          return { tokenId: l.args.tokenId, certificates: retired.map((r) => r.args.certificateId) };
        }),
      );
    },
    { enabled: Boolean(runtime.addresses.CarbonCredits) },
  );
  if (!q.data || q.data.length === 0) return null;
  return (
    <section aria-labelledby="backs-heading" className="panel">
      <h2 id="backs-heading">What this attestation backs</h2>
      <ul>
        {q.data.map((c) => (
          <li key={c.tokenId.toString()}>
            <Link href={auditHref("credit", c.tokenId)}>Audit trail of credit {c.tokenId.toString()}</Link>
            {c.certificates.length > 0 ? (
              <ul>
                {c.certificates.map((cert) => (
                  <li key={cert.toString()}>
                    <Link href={auditHref("certificate", cert)}>Retirement certificate {cert.toString()}</Link>
                  </li>
                ))}
              </ul>
            ) : null}
          </li>
        ))}
      </ul>
    </section>
  );
}
