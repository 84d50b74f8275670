/**
 * A stand-in for graph-node's query server, for tests of the subgraph client: it serves the API
 * derived by graph-node-api.ts over HTTP (POST JSON, like graph-node's /subgraphs/name/<name>),
 * executing queries with graphql-js against an in-memory entity store laid out as graph-node
 * stores entities (references as ids, derived fields resolved by reverse lookup; BigInt and Bytes
 * as strings). It stands for graph-node, which cannot run here; it implements the filter and
 * ordering semantics the client uses, not all of graph-node.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import {
  getNamedType,
  graphql,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";
import { entitySchema, graphNodeApi, lowerFirst, plural } from "./graph-node-api.ts";

/** graph-node's `first` and `skip` limits (GRAPH_GRAPHQL_MAX_FIRST, GRAPH_GRAPHQL_MAX_SKIP as The Graph's indexers set it). */
export const MAX_FIRST = 1000;
export const MAX_SKIP = 5000;

export type EntityRecord = Record<string, unknown> & { id: string };
export type Store = Map<string, Map<string, EntityRecord>>;

type ListArgs = {
  first?: number;
  skip?: number;
  orderBy?: string;
  orderDirection?: "asc" | "desc";
  where?: Record<string, unknown>;
};

export function emptyStore(): Store {
  return new Map();
}

export function put(store: Store, type: string, record: EntityRecord): void {
  if (!store.has(type)) store.set(type, new Map());
  store.get(type)!.set(record.id, record);
}

function isEntity(t: unknown): t is GraphQLObjectType {
  return isObjectType(t) && Boolean(t.astNode?.directives?.some((d) => d.name.value === "entity"));
}

function derivedFrom(f: GraphQLField<unknown, unknown>): string | undefined {
  const d = f.astNode?.directives?.find((x) => x.name.value === "derivedFrom");
  const arg = d?.arguments?.find((a) => a.name.value === "field");
  return arg && arg.value.kind === "StringValue" ? arg.value.value : undefined;
}

export function startStandIn(
  sdl: string,
  store: Store,
  blockNumber = 1,
): Promise<{ url: string; close: () => Promise<void> }> {
  const entities = entitySchema(sdl);
  const api = graphNodeApi(sdl);
  const typeOf = (entity: string, field: string) =>
    getNamedType(entities.getType(entity) && (entities.getType(entity) as GraphQLObjectType).getFields()[field]?.type)
      ?.name;

  function compare(entity: string, field: string, a: unknown, b: unknown): number {
    if (a === null || a === undefined) return b === null || b === undefined ? 0 : -1;
    if (b === null || b === undefined) return 1;
    const t = typeOf(entity, field);
    if (t === "BigInt" || t === "Int8" || t === "Timestamp") {
      const x = BigInt(a as string);
      const y = BigInt(b as string);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    if (typeof a === "number" && typeof b === "number") return a - b;
    const x = String(a).toLowerCase();
    const y = String(b).toLowerCase();
    return x < y ? -1 : x > y ? 1 : 0;
  }

  function related(entity: string, field: string, parent: EntityRecord): EntityRecord[] {
    const f = (entities.getType(entity) as GraphQLObjectType).getFields()[field]!;
    const target = getNamedType(f.type).name;
    const all = [...(store.get(target)?.values() ?? [])];
    const via = derivedFrom(f);
    if (via) return all.filter((r) => String(r[via]).toLowerCase() === parent.id.toLowerCase());
    const v = parent[field];
    const ids = (Array.isArray(v) ? v : v === null || v === undefined ? [] : [v]).map((x) => String(x).toLowerCase());
    return all.filter((r) => ids.includes(r.id.toLowerCase()));
  }

  function matches(entity: string, record: EntityRecord, where: Record<string, unknown>): boolean {
    for (const [key, want] of Object.entries(where)) {
      if (want === undefined) continue;
      if (key === "and") {
        if (!(want as Record<string, unknown>[]).every((w) => matches(entity, record, w))) return false;
        continue;
      }
      if (key === "or") {
        if (!(want as Record<string, unknown>[]).some((w) => matches(entity, record, w))) return false;
        continue;
      }
      if (key === "_change_block") continue;
      const cut = key.indexOf("_");
      const field = cut < 0 ? key : key.slice(0, cut);
      const op = cut < 0 ? "" : key.slice(cut + 1);
      if (key.endsWith("_") && op === "") {
        const f = (entities.getType(entity) as GraphQLObjectType).getFields()[field]!;
        const target = getNamedType(f.type).name;
        if (!related(entity, field, record).some((r) => matches(target, r, want as Record<string, unknown>)))
          return false;
        continue;
      }
      const have = record[field];
      const c = () => compare(entity, field, have, want);
      const ok =
        op === ""
          ? c() === 0
          : op === "not"
            ? c() !== 0
            : op === "gt"
              ? c() > 0
              : op === "gte"
                ? c() >= 0
                : op === "lt"
                  ? c() < 0
                  : op === "lte"
                    ? c() <= 0
                    : op === "in"
                      ? (want as unknown[]).some((w) => compare(entity, field, have, w) === 0)
                      : op === "not_in"
                        ? !(want as unknown[]).some((w) => compare(entity, field, have, w) === 0)
                        : op === "contains"
                          ? String(have).includes(String(want))
                          : op === "starts_with"
                            ? String(have).startsWith(String(want))
                            : (() => {
                                throw new Error(`stand-in: filter ${key} not implemented`);
                              })();
      if (!ok) return false;
    }
    return true;
  }

  // graph-node refuses these filters (QueryExecutionError::InvalidOrFilterStructure and
  // ChildFilterNestingNotSupportedError), so the stand-in refuses them too.
  function checkFilter(where: Record<string, unknown>, inChild: boolean): void {
    const fields = Object.keys(where).filter((k) => where[k] !== undefined && k !== "or" && k !== "and");
    if ("or" in where && fields.length > 0) {
      throw new Error(`Cannot mix column filters with 'or' operator at the same level: ${fields.join(", ")}`);
    }
    for (const [key, value] of Object.entries(where)) {
      if (key === "or" || key === "and") {
        for (const branch of value as Record<string, unknown>[]) checkFilter(branch, inChild);
      } else if (key.endsWith("_")) {
        if (inChild) throw new Error(`Child filter nesting not supported by value \`${key}\``);
        checkFilter(value as Record<string, unknown>, true);
      }
    }
  }

  // graph-node's default limits as The Graph's indexers run it (GRAPH_GRAPHQL_MAX_FIRST = 1000,
  // GRAPH_GRAPHQL_MAX_SKIP = 5000), refused with its QueryExecutionError::RangeArgumentsError text.
  function checkRange(name: "first" | "skip", value: number | undefined, max: number): void {
    if (value !== undefined && (value < 0 || value > max))
      throw new Error(`The \`${name}\` argument must be between 0 and ${max}, but is ${value}`);
  }

  function list(entity: string, records: EntityRecord[], args: ListArgs): EntityRecord[] {
    const where = args.where ?? {};
    checkRange("first", args.first, MAX_FIRST);
    checkRange("skip", args.skip, MAX_SKIP);
    checkFilter(where, false);
    const orderBy = args.orderBy ?? "id";
    const dir = args.orderDirection === "desc" ? -1 : 1;
    // graph-node sorts `orderBy <dir>, id <dir>`: ties on the order field by id, in the same direction
    return records
      .filter((r) => matches(entity, r, where))
      .sort((a, b) => dir * (compare(entity, orderBy, a[orderBy], b[orderBy]) || compare(entity, "id", a.id, b.id)))
      .slice(args.skip ?? 0, (args.skip ?? 0) + (args.first ?? 100));
  }

  // Resolvers on the derived API.
  const query = api.getQueryType()!.getFields();
  for (const t of Object.values(entities.getTypeMap()).filter(isEntity)) {
    query[lowerFirst(t.name)]!.resolve = (_src, args: { id: string }) => {
      for (const r of store.get(t.name)?.values() ?? []) if (r.id.toLowerCase() === args.id.toLowerCase()) return r;
      return null;
    };
    query[plural(t.name)]!.resolve = (_src, args: ListArgs) =>
      list(t.name, [...(store.get(t.name)?.values() ?? [])], args);
    const apiType = api.getType(t.name) as GraphQLObjectType;
    for (const f of Object.values(t.getFields())) {
      const target = getNamedType(f.type);
      if (!isEntity(target)) continue;
      const isList = isListType(isNonNullType(f.type) ? f.type.ofType : f.type);
      apiType.getFields()[f.name]!.resolve = (parent: EntityRecord, args: ListArgs) => {
        const rs = related(t.name, f.name, parent);
        return isList ? list(target.name, rs, args) : (rs[0] ?? null);
      };
    }
  }
  query["_meta"]!.resolve = () => ({
    block: { number: blockNumber },
    deployment: "stand-in",
    hasIndexingErrors: false,
  });

  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { query: source, variables } = JSON.parse(body) as { query: string; variables?: Record<string, unknown> };
      graphql({ schema: api as GraphQLSchema, source, variableValues: variables }).then(
        (result) => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end(JSON.stringify(result));
        },
        (cause: unknown) => {
          res.writeHead(500);
          res.end(String(cause));
        },
      );
    });
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}/subgraphs/name/carbonproof`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}
