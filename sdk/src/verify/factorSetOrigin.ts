import type { Bundle } from "../bundle/schema.ts";
import { defaultFactorSet, factorSetId, type FactorSet } from "../factors/factorSet.ts";
import type { GwpReport } from "../factors/gwp.ts";
import type { StationarySector } from "../factors/ipcc2006.ts";

/** One entry where a bundle's factor set differs from a built-in one (`undefined`: absent there). */
export type FactorSetDifference = { path: string; bundle: unknown; builtIn: unknown };

/**
 * Where a bundle's factor set comes from, as far as this sdk can tell: one of its built-in sets
 * (`defaultFactorSet` for each GWP report and stationary sector), or which entries differ from
 * the built-in set closest to it. A factor set that is not built in is not wrong (an oracle may
 * use another, cited one), but the auditor should know which numbers were used.
 */
export type FactorSetOrigin = {
  id: string;
  name: string;
  /** The id is the hash of the content (else nothing said of the content can be trusted). */
  idMatchesContent: boolean;
  builtIn: boolean;
  /** The built-in set it is, or the one compared with. */
  builtInName: string;
  /** Entries that differ from `builtInName`'s (empty when built in). */
  differences: FactorSetDifference[];
};

const GWPS: GwpReport[] = ["AR6", "AR5"];
const SECTORS: StationarySector[] = ["manufacturing", "energy"];
let builtIns: FactorSet[] | undefined;

/** Every built-in variant, computed once per process. */
function builtInSets(): FactorSet[] {
  builtIns ??= GWPS.flatMap((gwp) => SECTORS.map((sector) => defaultFactorSet({ gwp, sector })));
  return builtIns;
}

export function factorSetOrigin(set: Bundle["factorSet"]): FactorSetOrigin {
  const content = set.content;
  const idMatchesContent = factorSetId(content) === set.id;
  const all = builtInSets();
  const same = idMatchesContent ? all.find((b) => b.id === set.id) : undefined;
  const base = { id: set.id, name: content.name, idMatchesContent };
  if (same) return { ...base, builtIn: true, builtInName: same.content.name, differences: [] };
  // compared with the built-in of the same GWP report and sector, when it names ones the sdk has
  const closest =
    all.find(
      (b) => b.content.gwp.report === content.gwp.report && b.content.stationarySector === content.stationarySector,
    ) ?? all[0]!;
  const differences: FactorSetDifference[] = [];
  diff("", content, closest.content, differences);
  return { ...base, builtIn: false, builtInName: closest.content.name, differences };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Leaf by leaf (arrays, e.g. citation lists, compared whole); keys in sorted order. */
function diff(path: string, a: unknown, b: unknown, out: FactorSetDifference[]): void {
  if (isRecord(a) && isRecord(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    for (const key of keys) diff(path ? `${path}.${key}` : key, a[key], b[key], out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, bundle: a, builtIn: b });
}

/** One line for a person: the facility context a bundle's results were computed with. */
export function describeFacilityContext(context: Bundle["facilityContext"]): string {
  const parts = Object.entries(context)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k} ${typeof v === "string" ? JSON.stringify(v) : String(v)}`);
  return parts.length > 0 ? parts.join(", ") : "none (no grid country, contractual factor or biogenic share given)";
}

/** One line for a person: whether the factor set is the sdk's built-in one, else what differs (first `limit`). */
export function describeFactorSetOrigin(o: FactorSetOrigin, limit = 5): string {
  if (!o.idMatchesContent)
    return `${o.id} does not hash its content ("${o.name}"): its entries are not the attested ones`;
  if (o.builtIn) return `${o.id} is the sdk's built-in "${o.builtInName}"`;
  const shown = o.differences
    .slice(0, limit)
    .map((d) => `${d.path} ${show(d.bundle)} (built-in ${show(d.builtIn)})`)
    .join("; ");
  const more = o.differences.length > limit ? `; and ${o.differences.length - limit} more (--json lists all)` : "";
  return `${o.id} "${o.name}" is not the sdk's built-in: ${o.differences.length} entr${o.differences.length === 1 ? "y differs" : "ies differ"} from "${o.builtInName}": ${shown}${more}`;
}

function show(v: unknown): string {
  if (v === undefined) return "absent";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}…` : s;
}
