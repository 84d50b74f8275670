"use client";

import Link from "next/link";
import { useState, type DragEvent, type FormEvent } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { useReader } from "@/lib/chain/hooks.ts";
import { lookUpPastedId } from "@/lib/audit/pastedId.ts";
import { auditHref, targetOfFile, type AuditKind } from "@/lib/audit/target.ts";
import type { LineageTarget } from "../../../../sdk/src/verify/verifyLineage.ts";
import { Lineage } from "./Lineage.tsx";
import styles from "./Lineage.module.css";

type Run = { n: number; target: LineageTarget; what: string; audit?: { kind: AuditKind; id: string } };

/**
 * `/verify`: drop or paste a signed reading envelope or an evidence bundle, or paste an id; the
 * sdk's verifier runs in this browser (the same checks and verdicts as `carbonproof verify`).
 */
export function VerifyView() {
  const runtime = useRuntimeConfig();
  const client = useReader();
  const [run, setRun] = useState<Run | undefined>();
  const [problem, setProblem] = useState<string | undefined>();
  const [over, setOver] = useState(false);
  const [text, setText] = useState("");
  const [id, setId] = useState("");
  // a bytes32 is looked up on the chain (attestation id or reading digest) before anything runs
  const [lookingUp, setLookingUp] = useState(false);

  const start = (target: LineageTarget | string, what: string, audit?: Run["audit"]) => {
    if (typeof target === "string") {
      setProblem(target);
      setRun(undefined);
      return;
    }
    setProblem(undefined);
    setRun((r) => ({ n: (r?.n ?? 0) + 1, target, what, ...(audit ? { audit } : {}) }));
  };

  const fromFile = async (file: File | undefined) => {
    if (!file) return;
    const bytes = new Uint8Array(await file.arrayBuffer());
    start(targetOfFile(bytes, file.name), `file ${file.name} (${bytes.length.toLocaleString("en")} bytes)`);
  };

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    e.preventDefault();
    setOver(false);
    void fromFile(e.dataTransfer.files[0]);
  };

  const onPaste = (e: FormEvent) => {
    e.preventDefault();
    start(targetOfFile(new TextEncoder().encode(text), "pasted JSON"), "pasted JSON");
  };

  const onId = async (e: FormEvent) => {
    e.preventDefault();
    setLookingUp(true);
    setProblem(undefined);
    const parsed = await lookUpPastedId(id, {
      client,
      registry: runtime.addresses.AttestationRegistry,
      runtime,
    });
    setLookingUp(false);
    if (typeof parsed === "string") start(parsed, id);
    else start(parsed.target, `${parsed.kind} ${parsed.id}`, { kind: parsed.kind, id: parsed.id });
  };

  return (
    <>
      <section className="panel" aria-labelledby="drop-heading">
        <h2 id="drop-heading">A file</h2>
        <div
          className={styles.drop}
          data-over={over}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(true);
          }}
          onDragLeave={() => setOver(false)}
          onDrop={onDrop}
        >
          <label htmlFor="verify-file">Signed reading envelope or evidence bundle (JSON)</label>
          <input
            id="verify-file"
            type="file"
            accept=".json,application/json"
            data-testid="verify-file"
            onChange={(e) => void fromFile(e.target.files?.[0])}
          />
          <p className="hint muted">
            Drop it here or choose it. A bundle is checked by its exact bytes against the CID its attestation names on
            chain; an envelope is looked up in the bundles of its facility&apos;s attestations.
          </p>
        </div>
        <form onSubmit={onPaste}>
          <div className="field">
            <label htmlFor="verify-json">Or paste its JSON</label>
            <textarea
              id="verify-json"
              rows={4}
              value={text}
              onChange={(e) => setText(e.target.value)}
              data-testid="verify-json"
              spellCheck={false}
            />
          </div>
          <button type="submit" disabled={text.trim() === ""}>
            Verify pasted JSON
          </button>
        </form>
      </section>
      <section className="panel" aria-labelledby="id-heading">
        <h2 id="id-heading">An id</h2>
        <form onSubmit={(e) => void onId(e)}>
          <div className="field">
            <label htmlFor="verify-id">Credit id, certificate id, attestation id or reading digest</label>
            <input
              id="verify-id"
              value={id}
              onChange={(e) => setId(e.target.value)}
              data-testid="verify-id"
              spellCheck={false}
              autoComplete="off"
            />
          </div>
          <button type="submit" disabled={id.trim() === "" || lookingUp}>
            Verify
          </button>
          {lookingUp ? (
            <p role="status" className="status status--pending" data-testid="verify-looking-up">
              Looking {id.trim().slice(0, 80)} up on the chain…
            </p>
          ) : null}
        </form>
      </section>
      {problem ? (
        <p role="alert" className="status status--bad" data-testid="verify-problem">
          {problem}
        </p>
      ) : null}
      {run ? (
        <section aria-labelledby="result-heading">
          <h2 id="result-heading">Result: {run.what}</h2>
          {run.audit ? (
            <p>
              <Link href={auditHref(run.audit.kind, run.audit.id)}>Open as an audit trail page</Link>
            </p>
          ) : null}
          <Lineage key={run.n} target={run.target} />
        </section>
      ) : null}
    </>
  );
}
