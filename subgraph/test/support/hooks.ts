/**
 * Module resolution for tests of src/logic (AssemblyScript-compatible TypeScript):
 * - `@graphprotocol/graph-ts` resolves to ./graph-ts.ts (see there);
 * - relative imports without an extension (AssemblyScript style) resolve to the `.ts` file.
 */
type Resolve = (
  specifier: string,
  context: { parentURL?: string },
  next: (specifier: string, context: { parentURL?: string }) => Promise<{ url: string }>,
) => Promise<{ url: string; shortCircuit?: boolean }>;

export const resolve: Resolve = async (specifier, context, next) => {
  if (specifier === "@graphprotocol/graph-ts") {
    return { url: new URL("./graph-ts.ts", import.meta.url).href, shortCircuit: true };
  }
  if (
    context.parentURL?.includes("/src/") &&
    (specifier.startsWith("./") || specifier.startsWith("../")) &&
    !/\.[cm]?[jt]s$/.test(specifier)
  ) {
    return { url: new URL(`${specifier}.ts`, context.parentURL).href, shortCircuit: true };
  }
  return next(specifier, context);
};
