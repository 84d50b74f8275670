import Link from "next/link";

/** The retirement certificate a confirmed transaction minted, linked to its page; nothing before. */
export function MintedCertificate({ id }: { id: bigint | undefined }) {
  if (id === undefined) return null;
  return (
    <p className="status status--ok">
      Your certificate:{" "}
      <Link href={`/certificate/${id}`} data-testid="certificate-link">
        certificate {id.toString()}
      </Link>
    </p>
  );
}
