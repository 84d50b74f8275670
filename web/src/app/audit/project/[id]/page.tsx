import type { Metadata } from "next";
import { ProjectShortfallsView } from "@/components/audit/ProjectShortfallsView.tsx";
import { decodeParam } from "@/lib/params.ts";

export async function generateMetadata({ params }: { params: Promise<{ id: string }> }): Promise<Metadata> {
  const { id } = await params;
  return { title: `Periods above the baseline of project ${decodeParam(id).slice(0, 16)}` };
}

export default async function AuditProjectPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  return (
    <article aria-labelledby="project-heading">
      <h1 id="project-heading" style={{ overflowWrap: "anywhere" }}>
        Periods above the baseline of project {decodeParam(id)}
      </h1>
      <ProjectShortfallsView id={decodeParam(id)} />
    </article>
  );
}
