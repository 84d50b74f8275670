import { DetailNotFound } from "@/components/DetailNotFound.tsx";

/** What `notFound()` in the credit page renders, with HTTP status 404. */
export default function CreditNotFound() {
  return <DetailNotFound kind="credit" />;
}
