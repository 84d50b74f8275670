import Link from "next/link";
import type { FilterField } from "@/lib/explorer/lists.ts";
import styles from "./explorer.module.css";

/**
 * The filters of a list as a GET form: the URL holds them, so a filtered view can be shared.
 * Keyed by the query: "Clear" navigates on the client and the page stays mounted, and React
 * does not apply a changed `defaultValue` to a mounted <select>, so without the key the dropdown
 * kept the old filter over an unfiltered list. A new query mounts a fresh form.
 */
export function FilterForm({
  path,
  fields,
  values,
  label,
}: {
  path: string;
  fields: readonly FilterField[];
  values: URLSearchParams;
  label: string;
}) {
  if (!fields.length) return null;
  const id = (name: string) => `filter-${name}`;
  return (
    <form key={values.toString()} action={path} method="get" className="filters panel" aria-label={`Filter ${label}`}>
      {fields.map((f) => (
        <div key={f.name}>
          <label htmlFor={id(f.name)}>{f.label}</label>
          {f.options ? (
            <select id={id(f.name)} name={f.name} defaultValue={values.get(f.name) ?? ""}>
              {f.options.map((o) => (
                <option key={o.value} value={o.value}>
                  {o.label}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={id(f.name)}
              name={f.name}
              defaultValue={values.get(f.name) ?? ""}
              placeholder={f.placeholder}
              spellCheck={false}
              autoComplete="off"
            />
          )}
        </div>
      ))}
      <div className={styles.filterActions}>
        <button type="submit">Apply</button>
        <Link href={path} className="button secondary">
          Clear
        </Link>
      </div>
    </form>
  );
}
