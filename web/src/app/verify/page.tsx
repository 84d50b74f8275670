import type { Metadata } from "next";
import { VerifyView } from "@/components/audit/VerifyView.tsx";

export const metadata: Metadata = { title: "Verify" };

export default function VerifyPage() {
  return (
    <article aria-labelledby="verify-page-heading">
      <h1 id="verify-page-heading">Verify a reading, a bundle or an id</h1>
      <p>
        The same checks and verdicts as <code>carbonproof verify</code>, run in your browser against the chain: PASS,
        FAIL or SKIP for every link, and for a FAIL the link that broke and why. No wallet needed.
      </p>
      <VerifyView />
    </article>
  );
}
