import type { Check } from "@/lib/verification.ts";

export function Checks({ checks, label }: { checks: readonly Check[]; label: string }) {
  return (
    <ul className="checks" aria-label={label}>
      {checks.map((c) => (
        <li key={c.id} data-check={c.id} data-ok={c.ok}>
          <span className={`badge ${c.ok ? "badge--ok" : "badge--bad"}`}>{c.ok ? "✓ pass" : "✗ fail"}</span>{" "}
          <strong>{c.label}</strong>: {c.detail}
        </li>
      ))}
    </ul>
  );
}

export function VerifiedBadge({ verified }: { verified: boolean }) {
  return verified ? (
    <span className="badge badge--ok" title="Every on-chain check of this credit passed">
      ✓ Verified
    </span>
  ) : (
    <span className="badge badge--bad" title="At least one on-chain check of this credit failed">
      ✗ Not verified
    </span>
  );
}

const CHALLENGE_TEXT = {
  cleared: ["Cleared", "Every challenge window closed with no challenge"],
  challenged: ["Challenged", "An attestation behind it was challenged; the challenge was dismissed"],
  revoked: ["Revoked", "An attestation behind it was revoked"],
} as const;

export function ChallengeBadge({ status }: { status: "cleared" | "challenged" | "revoked" }) {
  const cls = status === "cleared" ? "badge--ok" : status === "challenged" ? "badge--warn" : "badge--bad";
  const [text, title] = CHALLENGE_TEXT[status];
  return (
    <span className={`badge ${cls}`} title={title}>
      {text}
      <span className="visually-hidden">: {title}</span>
    </span>
  );
}
