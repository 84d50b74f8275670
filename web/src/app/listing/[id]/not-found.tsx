import { DetailNotFound } from "@/components/DetailNotFound.tsx";

/** What `notFound()` in the listing page renders, with HTTP status 404. */
export default function ListingNotFound() {
  return <DetailNotFound kind="listing" />;
}
