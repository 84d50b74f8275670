"use client";

import Link from "next/link";
import { useRef, useState, type DragEvent, type FormEvent } from "react";
import { useRuntimeConfig } from "@/app/providers.tsx";
import { useReader } from "@/lib/chain/hooks.ts";
import { lookUpPastedId } from "@/lib/audit/pastedId.ts";
import { auditHref, targetOfFile } from "@/lib/audit/target.ts";
import { Lineage } from "./Lineage.tsx";
import { begin, ended, IDLE, prepared, type VerifyInput, type VerifyState } from "./verifyRun.ts";
import styles from "./Lineage.module.css";

/** What to do when a walk could not finish, per input. */
const AGAIN = {
  id: "Press Verify to check it again.",
  paste: "Press Verify pasted JSON to check it again.",
  file: "Choose the file again to check it again.",
};

/**
 * `/verify`: drop or paste a signed reading envelope or an evidence bundle, or paste an id; the
 * sdk's verifier runs in this browser (the same checks and verdicts as `carbonproof verify`).
 * One input at a time (verifyRun.ts): while one is looked up, read or checked, the others wait
 * and the walk's result region is aria-busy. The buttons are then aria-disabled, not disabled, and
 * the file input refuses to open: a disabled control loses focus, so the one just used by keyboard
 * would drop focus to the body; these keep it, and their handlers take nothing (begin refuses).
 */
export function VerifyView() {
  const runtime = useRuntimeConfig();
  const client = useReader();
  const [state, setState] = useState<VerifyState>(IDLE);
  // the state as of the last transition, for handlers that run before React re-renders (a second
  // click in the same frame, an answer arriving after an await)
  const latest = useRef(state);
  const move = (next: VerifyState) => {
    if (next === latest.current) return;
    latest.current = next;
    setState(next);
  };
  const [over, setOver] = useState(false);
  const [text, setText] = useState("");
  const [id, setId] = useState("");
  const { busy, run, problem } = state;

  const fromFile = async (file: File | undefined) => {
    if (!file) return;
    const taken = begin(latest.current, "reading", `file ${file.name}`);
    if (taken.ticket === undefined) return;
    move(taken.state);
    let input: VerifyInput | string;
    try {
      const bytes = new Uint8Array(await file.arrayBuffer());
      const target = targetOfFile(bytes, file.name);
      input =
        typeof target === "string"
          ? target
          : { target, what: `file ${file.name} (${bytes.length.toLocaleString("en")} bytes)`, again: AGAIN.file };
    } catch (cause) {
      input = `Could not read ${file.name}: ${cause instanceof Error ? cause.message : String(cause)}. Choose it again.`;
    }
    move(prepared(latest.current, taken.ticket, input));
  };

  const onDrop = (e: DragEvent<HTMLDivElement>) => {
    // always: a file dropped and not taken would otherwise be opened by the browser, leaving the page
    e.preventDefault();
    setOver(false);
    void fromFile(e.dataTransfer.files[0]);
  };

  const onPaste = (e: FormEvent) => {
    e.preventDefault();
    const taken = begin(latest.current, "reading", "pasted JSON");
    if (taken.ticket === undefined) return;
    const target = targetOfFile(new TextEncoder().encode(text), "pasted JSON");
    move(
      prepared(
        taken.state,
        taken.ticket,
        typeof target === "string" ? target : { target, what: "pasted JSON", again: AGAIN.paste },
      ),
    );
  };

  const onId = async (e: FormEvent) => {
    e.preventDefault();
    const typed = id;
    const taken = begin(latest.current, "looking-up", typed.trim());
    if (taken.ticket === undefined) return;
    move(taken.state);
    const parsed = await lookUpPastedId(typed, {
      client,
      registry: runtime.addresses.AttestationRegistry,
      runtime,
    });
    move(
      prepared(
        latest.current,
        taken.ticket,
        typeof parsed === "string"
          ? parsed
          : {
              target: parsed.target,
              what: `${parsed.kind} ${parsed.id}`,
              audit: { kind: parsed.kind, id: parsed.id },
              again: AGAIN.id,
            },
      ),
    );
  };

  // while something else is worked on the buttons are aria-disabled (absent, not "false", otherwise)
  // and the inputs say why they wait
  const refusing = busy !== undefined ? true : undefined;
  const waiting = busy ? (busy.stage === "looking-up" ? "verify-looking-up" : "verify-wait") : undefined;

  return (
    <>
      <section className="panel" aria-labelledby="drop-heading">
        <h2 id="drop-heading">A file</h2>
        <div
          className={styles.drop}
          data-over={over}
          onDragOver={(e) => {
            e.preventDefault();
            setOver(!busy);
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
            aria-describedby={waiting}
            onClick={(e) => {
              // focusable while busy (see above), but no file is chosen until the input running ends
              if (latest.current.busy) e.preventDefault();
            }}
            onChange={(e) => {
              const file = e.target.files?.[0];
              // emptied, so that choosing the same file again is a change (to check it again)
              e.target.value = "";
              void fromFile(file);
            }}
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
          <button
            type="submit"
            disabled={text.trim() === ""}
            aria-disabled={refusing}
            aria-describedby={waiting}
            data-testid="verify-json-submit"
          >
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
          <button type="submit" disabled={id.trim() === ""} aria-disabled={refusing} aria-describedby={waiting}>
            Verify
          </button>
          {busy?.stage === "looking-up" ? (
            <p id="verify-looking-up" role="status" className="status status--pending" data-testid="verify-looking-up">
              Looking {busy.what.slice(0, 80)} up on the chain…
            </p>
          ) : null}
        </form>
      </section>
      {waiting === "verify-wait" ? (
        <p id="verify-wait" className="hint muted" data-testid="verify-wait">
          {busy?.stage === "reading" ? `Reading ${busy.what}…` : `Checking ${busy?.what} below.`} A new id, JSON or file
          can be verified once that ends.
        </p>
      ) : null}
      {problem ? (
        <p role="alert" className="status status--bad" data-testid="verify-problem">
          {problem}
        </p>
      ) : null}
      {run ? (
        <section aria-labelledby="result-heading" aria-busy={busy?.stage === "checking"} data-testid="verify-run">
          <h2 id="result-heading">Result: {run.what}</h2>
          {run.audit ? (
            <p>
              <Link href={auditHref(run.audit.kind, run.audit.id)}>Open as an audit trail page</Link>
            </p>
          ) : null}
          <Lineage
            key={run.n}
            target={run.target}
            again={run.again}
            onDone={() => move(ended(latest.current, run.n))}
          />
        </section>
      ) : null}
    </>
  );
}
