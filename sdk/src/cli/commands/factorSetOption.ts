import { defaultFactorSet, parseFactorSet, type FactorSet } from "../../factors/factorSet.ts";
import { SdkError } from "../../errors.ts";
import { CliError, EXIT_USAGE, parseJson, readInput, type Io } from "../io.ts";

export const FACTOR_OPTIONS = {
  factors: { type: "string" },
  gwp: { type: "string" },
  sector: { type: "string" },
} as const;

export const FACTOR_OPTIONS_HELP = `  --factors FILE     factor set JSON (from \`carbonproof factors import\` or \`factors show --json\`)
  --gwp AR5|AR6      GWP set of the built-in factor set (default AR6)
  --sector S         IPCC stationary-combustion table: manufacturing (Table 2.3, default) or energy (Table 2.2)`;

export function loadFactorSet(io: Io, values: { factors?: string; gwp?: string; sector?: string }): FactorSet {
  if (values.factors !== undefined) {
    if (values.gwp !== undefined || values.sector !== undefined) {
      throw new CliError("--gwp and --sector choose a built-in factor set; they cannot be combined with --factors.");
    }
    const { text, name } = readInput(io, values.factors);
    try {
      return parseFactorSet(parseJson(text, name));
    } catch (error) {
      if (error instanceof SdkError) throw new CliError(`${name}: ${error.message}`, EXIT_USAGE, { cause: error });
      throw error;
    }
  }
  const gwp = values.gwp ?? "AR6";
  if (gwp !== "AR5" && gwp !== "AR6") throw new CliError(`--gwp must be AR5 or AR6, got ${JSON.stringify(gwp)}.`);
  const sector = values.sector ?? "manufacturing";
  if (sector !== "manufacturing" && sector !== "energy") {
    throw new CliError(`--sector must be manufacturing or energy, got ${JSON.stringify(sector)}.`);
  }
  return defaultFactorSet({ gwp, sector });
}
