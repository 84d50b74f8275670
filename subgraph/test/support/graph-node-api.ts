/**
 * The GraphQL API graph-node serves for a subgraph schema, derived here with graphql-js so the
 * client's queries can be validated offline (graph-node cannot run on this machine). It follows
 * graph-node's documented conventions (docs/graphql-api.md there): per entity `x(id: ID!)` and
 * `xs(first, skip, orderBy, orderDirection, where, block)`; `X_filter` inputs with `_not`, `_gt`,
 * `_lt`, `_gte`, `_lte`, `_in`, `_not_in` (and string/bytes `_contains`…), `field_` nested filters,
 * `and`/`or`; `X_orderBy` enums; list fields of entities taking the same arguments; `_meta`.
 * A subset: full-text search, time-travel arguments' semantics and aggregations are not modelled.
 */
import {
  buildSchema,
  getNamedType,
  isEnumType,
  isListType,
  isNonNullType,
  isObjectType,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
} from "graphql";

export const GRAPH_SCALARS = ["BigInt", "BigDecimal", "Bytes", "Int8", "Timestamp"];

const DIRECTIVES = /* GraphQL */ `
  directive @entity(immutable: Boolean, timeseries: Boolean) on OBJECT
  directive @derivedFrom(field: String!) on FIELD_DEFINITION
  directive @index(fields: [String!]) on OBJECT
  directive @aggregation(intervals: [String!]!, source: String!) on OBJECT
  directive @aggregate(fn: String!, arg: String, cumulative: Boolean) on FIELD_DEFINITION
`;

/** The schema.graphql of a subgraph, as graph-cli reads it (scalars and directives predeclared). */
export function entitySchema(sdl: string): GraphQLSchema {
  return buildSchema(`${GRAPH_SCALARS.map((s) => `scalar ${s}`).join("\n")}\n${DIRECTIVES}\n${sdl}`);
}

export function lowerFirst(s: string): string {
  return `${s[0]!.toLowerCase()}${s.slice(1)}`;
}

/** graph-node's plural of an entity name (inflector rules that cover this schema's names). */
export function plural(name: string): string {
  const lower = lowerFirst(name);
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  if (/(s|x|z|ch|sh)$/.test(lower)) return `${lower}es`;
  return `${lower}s`;
}

function isEntity(t: unknown): t is GraphQLObjectType {
  return isObjectType(t) && Boolean(t.astNode?.directives?.some((d) => d.name.value === "entity"));
}

function derivedFrom(f: GraphQLField<unknown, unknown>): string | undefined {
  const d = f.astNode?.directives?.find((x) => x.name.value === "derivedFrom");
  const arg = d?.arguments?.find((a) => a.name.value === "field");
  return arg && arg.value.kind === "StringValue" ? arg.value.value : undefined;
}

/** The id scalar of an entity: ID is queried as String, Bytes and Int8 as themselves. */
function idScalar(t: GraphQLObjectType): string {
  const named = getNamedType(t.getFields().id!.type).name;
  return named === "ID" ? "String" : named;
}

function scalarOps(field: string, type: string, list: boolean, ordered = true): string[] {
  if (list) {
    return [
      `${field}: [${type}!]`,
      `${field}_not: [${type}!]`,
      `${field}_contains: [${type}!]`,
      `${field}_not_contains: [${type}!]`,
    ];
  }
  const ops = [`${field}: ${type}`, `${field}_not: ${type}`, `${field}_in: [${type}!]`, `${field}_not_in: [${type}!]`];
  if (ordered && type !== "Boolean") {
    ops.push(`${field}_gt: ${type}`, `${field}_lt: ${type}`, `${field}_gte: ${type}`, `${field}_lte: ${type}`);
  }
  if (type === "String") {
    for (const op of [
      "contains",
      "contains_nocase",
      "not_contains",
      "starts_with",
      "ends_with",
      "not_starts_with",
      "not_ends_with",
    ]) {
      ops.push(`${field}_${op}: String`);
    }
  }
  if (type === "Bytes") ops.push(`${field}_contains: Bytes`, `${field}_not_contains: Bytes`);
  return ops;
}

const LIST_ARGS = (t: string) =>
  `(skip: Int = 0, first: Int = 100, orderBy: ${t}_orderBy, orderDirection: OrderDirection, where: ${t}_filter)`;

/** SDL of the query API graph-node derives from `sdl`. */
export function graphNodeApiSdl(sdl: string): string {
  const schema = entitySchema(sdl);
  const entities = Object.values(schema.getTypeMap()).filter(isEntity);
  const out: string[] = [
    ...GRAPH_SCALARS.map((s) => `scalar ${s}`),
    "enum OrderDirection { asc desc }",
    "enum _SubgraphErrorPolicy_ { allow deny }",
    "input Block_height { hash: Bytes, number: Int, number_gte: Int }",
    "input BlockChangedFilter { number_gte: Int! }",
    "type _Block_ { hash: Bytes, number: Int!, timestamp: Int, parentHash: Bytes }",
    "type _Meta_ { block: _Block_!, deployment: String!, hasIndexingErrors: Boolean! }",
  ];
  for (const t of Object.values(schema.getTypeMap())) {
    if (isEnumType(t) && !t.name.startsWith("__")) {
      out.push(
        `enum ${t.name} { ${t
          .getValues()
          .map((v) => v.name)
          .join(" ")} }`,
      );
    }
  }
  const query: string[] = [];
  for (const e of entities) {
    const fields = Object.values(e.getFields());
    const objectFields: string[] = [];
    const filter: string[] = [];
    for (const f of fields) {
      const named = getNamedType(f.type);
      const list = isListType(isNonNullType(f.type) ? f.type.ofType : f.type);
      const typeText = String(f.type);
      if (isEntity(named)) {
        objectFields.push(list ? `${f.name}${LIST_ARGS(named.name)}: ${typeText}` : `${f.name}: ${typeText}`);
        if (derivedFrom(f) === undefined) filter.push(...scalarOps(f.name, idScalar(named), list));
        filter.push(`${f.name}_: ${named.name}_filter`);
      } else {
        objectFields.push(`${f.name}: ${typeText}`);
        const scalar = named.name === "ID" ? "ID" : named.name;
        filter.push(...scalarOps(f.name, scalar, list, !isEnumType(named)));
      }
    }
    filter.push(`_change_block: BlockChangedFilter`, `and: [${e.name}_filter]`, `or: [${e.name}_filter]`);
    out.push(`type ${e.name} { ${objectFields.join("\n  ")} }`);
    out.push(`input ${e.name}_filter { ${filter.join("\n  ")} }`);
    out.push(`enum ${e.name}_orderBy { ${fields.map((f) => f.name).join(" ")} }`);
    const common = "block: Block_height, subgraphError: _SubgraphErrorPolicy_! = deny";
    query.push(`${lowerFirst(e.name)}(id: ID!, ${common}): ${e.name}`);
    query.push(
      `${plural(e.name)}(skip: Int = 0, first: Int = 100, orderBy: ${e.name}_orderBy, orderDirection: OrderDirection, where: ${e.name}_filter, ${common}): [${e.name}!]!`,
    );
  }
  query.push("_meta(block: Block_height): _Meta_");
  out.push(`type Query { ${query.join("\n  ")} }`);
  return out.join("\n\n");
}

export function graphNodeApi(sdl: string): GraphQLSchema {
  return buildSchema(graphNodeApiSdl(sdl));
}
