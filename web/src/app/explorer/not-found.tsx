import { ExplorerNotFound } from "@/components/explorer/ExplorerNotFound.tsx";

/** What `notFound()` in an explorer page renders, with HTTP status 404. */
export default function NotFoundPage() {
  return <ExplorerNotFound />;
}
