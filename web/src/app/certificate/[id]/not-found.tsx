import { DetailNotFound } from "@/components/DetailNotFound.tsx";

/** What `notFound()` in the certificate page renders, with HTTP status 404. */
export default function CertificateNotFound() {
  return <DetailNotFound kind="certificate" />;
}
