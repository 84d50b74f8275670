import styles from "./explorer.module.css";

/** Search anything an auditor holds; a plain GET form, so it works before (and without) JavaScript. */
export function SearchForm({ term, autoFocus }: { term?: string; autoFocus?: boolean }) {
  return (
    <form action="/explorer/search" method="get" role="search" className="panel">
      <label htmlFor="explorer-q">Search the explorer</label>
      <div className={styles.search}>
        <input
          id="explorer-q"
          name="q"
          type="search"
          defaultValue={term}
          autoFocus={autoFocus}
          spellCheck={false}
          autoComplete="off"
          placeholder="Reading digest, attestation id, tx hash, address, token id, device id, CID"
          aria-describedby="explorer-q-hint"
        />
        <button type="submit">Search</button>
      </div>
      <p id="explorer-q-hint" className={`muted ${styles.hint}`}>
        Exact values only: paste the whole id, hash or address.
      </p>
    </form>
  );
}
