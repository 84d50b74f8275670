/**
 * Module hooks for running the subgraph's AssemblyScript under node (src/logic, src/mappings and
 * the `graph codegen` output in dist/generated), installed by register.ts:
 * - `@graphprotocol/graph-ts` resolves to ./graph-ts.ts (see there);
 * - relative imports without an extension (AssemblyScript style) resolve to the `.ts` file;
 * - what node's type stripping cannot take or would lose is rewritten, keeping line numbers:
 *   `changetype<T>(x)` (an AssemblyScript builtin whose type argument would be erased) becomes
 *   `__changetype(T, x)`; an angle-bracket cast `<T>x` (not valid in strip mode) becomes `x` for a
 *   reference type, as it is in AssemblyScript, and `__cast("i32", x)` for a numeric type, which
 *   AssemblyScript converts (an i64 to i32 wraps); the builtins come from the stand-in.
 */
type Resolve = (
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: { parentURL?: string }) => Promise<{ url: string }>,
) => Promise<{ url: string; shortCircuit?: boolean }>;

type LoadResult = { format?: string | null; source?: string | ArrayBuffer | Uint8Array | null; shortCircuit?: boolean };
type Load = (
  url: string,
  context: { format?: string | null },
  next: (url: string, context: { format?: string | null }) => Promise<LoadResult>,
) => Promise<LoadResult>;

/** Files written in AssemblyScript (or generated for it), wherever the tests copied them. */
function isAssemblyScript(url: string): boolean {
  return /\/src\/(mappings|logic)\/[^/]+\.ts$/.test(url) || /\/dist\/generated\/.+\.ts$/.test(url);
}

export const resolve: Resolve = async (specifier, context, next) => {
  if (specifier === "@graphprotocol/graph-ts") {
    return { url: new URL("./graph-ts.ts", import.meta.url).href, shortCircuit: true };
  }
  const parent = context.parentURL ?? "";
  if (
    (parent.includes("/src/") || parent.includes("/dist/generated/")) &&
    (specifier.startsWith("./") || specifier.startsWith("../")) &&
    !/\.[cm]?[jt]s$/.test(specifier)
  ) {
    return { url: new URL(`${specifier}.ts`, parent).href, shortCircuit: true };
  }
  return next(specifier, context);
};

// on the first line, so that stack traces keep the file's line numbers
const PRELUDE = 'import { __cast, __changetype, assert } from "@graphprotocol/graph-ts"; ';
const CHANGETYPE = /changetype<\s*([A-Za-z_$][\w$]*)\s*(?:\|\s*null\s*)?>\s*\(/g;
// `<T>` in prefix position (after an operator, an opening bracket or `return`), not a generic call
const CAST = /(^|[^\w$\s)\]]\s*|\breturn\s+)<\s*([A-Za-z_$][\w$]*)\s*>(?=[\w$(])/gm;
const NUMERIC = new Set(["i8", "i16", "i32", "u8", "u16", "u32", "i64", "u64", "isize", "usize", "f32", "f64"]);

/** End of the operand of a prefix cast: an identifier chain with member accesses, calls, indexes. */
function operandEnd(text: string, start: number): number {
  let i = start;
  while (i < text.length) {
    const c = text[i]!;
    if (c === "(" || c === "[") {
      let depth = 0;
      for (; i < text.length; i++) {
        if (text[i] === "(" || text[i] === "[") depth++;
        else if (text[i] === ")" || text[i] === "]") depth--;
        if (depth === 0) break;
      }
      i++;
    } else if (/[\w$.]/.test(c)) i++;
    else break;
  }
  return i;
}

function rewriteCasts(text: string): string {
  let out = "";
  let from = 0;
  for (const m of text.matchAll(CAST)) {
    const castStart = m.index! + m[1]!.length;
    const operand = m.index! + m[0].length;
    out += text.slice(from, castStart);
    if (NUMERIC.has(m[2]!)) {
      const end = operandEnd(text, operand);
      out += `__cast("${m[2]}", ${text.slice(operand, end)})`;
      from = end;
    } else {
      from = operand;
    }
  }
  return out + text.slice(from);
}

export const load: Load = async (url, context, next) => {
  const result = await next(url, context);
  if (!isAssemblyScript(url) || result.source == null) return result;
  const text = typeof result.source === "string" ? result.source : new TextDecoder().decode(result.source);
  // registered twice (register.ts and a test's own register): the outer hook sees it done
  if (text.startsWith(PRELUDE)) return result;
  const rewritten = rewriteCasts(text.replace(CHANGETYPE, "__changetype($1, "));
  if (rewritten === text && !url.includes("/dist/generated/")) return result;
  return { ...result, source: PRELUDE + rewritten };
};
