import { existsSync } from "node:fs";
import { basename } from "node:path";
import { parseArgs } from "node:util";
import { SdkError } from "../../errors.ts";
import { importEpaSupplyChainCsv } from "../../factors/epaSupplyChain.ts";
import { withSpendFactors } from "../../factors/factorSet.ts";
import {
  CliError,
  EXIT_OK,
  EXIT_USAGE,
  readInput,
  stdoutAfterWriting,
  toJson,
  writeFileWhole,
  type Io,
} from "../io.ts";
import { FACTOR_OPTIONS, FACTOR_OPTIONS_HELP, loadFactorSet } from "./factorSetOption.ts";

export const FACTORS_HELP = `Usage: carbonproof factors <import|show> [options]

  import   import the US EPA Supply Chain GHG Emission Factors v1.3 CSV into a factor set
  show     print a factor set (the built-in one by default): id, name, source, tables

Run \`carbonproof factors <command> --help\` for each command's options.
`;

const IMPORT_HELP = `Usage: carbonproof factors import CSV [--out FILE] [--force] [--gwp AR5|AR6 --sector S | --factors FILE]

Reads the EPA "Supply Chain Greenhouse Gas Emission Factors for US Commodities and
Industries" v1.3 CSV (NAICS-6, kg CO2e per 2022 USD) by its column names:
  2017 NAICS Code, 2017 NAICS Title, GHG, Unit,
  Supply Chain Emission Factors without Margins, Margins of Supply Chain Emission Factors,
  Supply Chain Emission Factors with Margins
and adds it as the spend table to a base factor set (the built-in one, or --factors).
The factor used is "with Margins" (purchaser prices). Prints (or writes to FILE) the
new factor set {id, content}; the citation names the CSV file and its SHA-256.

Options:
  --out FILE         write the factor set to FILE instead of stdout
  --force            overwrite FILE
${FACTOR_OPTIONS_HELP}
`;

const SHOW_HELP = `Usage: carbonproof factors show [--json] [--factors FILE | --gwp AR5|AR6 --sector S]

Prints the factor set's id (SHA-256 of its canonical content), name, source, GWPs and
the size of each table; --json prints the whole set {id, content}.

Options:
  --json             the whole factor set as JSON
${FACTOR_OPTIONS_HELP}
`;

export function factorsCommand(io: Io, argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(FACTORS_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (sub === "import") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        out: { type: "string" },
        force: { type: "boolean" },
        help: { type: "boolean", short: "h" },
        ...FACTOR_OPTIONS,
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(IMPORT_HELP), EXIT_OK);
    if (positionals.length !== 1) throw new CliError("factors import needs exactly one CSV file.");
    const base = loadFactorSet(io, values);
    const { text, name } = readInput(io, positionals[0]);
    let set;
    try {
      set = withSpendFactors(base, importEpaSupplyChainCsv(text, basename(name)));
    } catch (error) {
      if (error instanceof SdkError) throw new CliError(`${name}: ${error.message}`, EXIT_USAGE, { cause: error });
      throw error;
    }
    const json = `${toJson(set)}\n`;
    if (values.out !== undefined) {
      if (existsSync(values.out) && !values.force)
        throw new CliError(`${values.out} exists; pass --force to overwrite.`);
      writeFileWhole(values.out, json);
      stdoutAfterWriting(
        io,
        `wrote ${values.out}: factor set ${set.id} with ${Object.keys(set.content.spend!.factors).length} spend factors\n`,
        [values.out],
      );
    } else io.stdout(json);
    return EXIT_OK;
  }
  if (sub === "show") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" }, ...FACTOR_OPTIONS },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(SHOW_HELP), EXIT_OK);
    if (positionals.length > 0)
      throw new CliError("factors show takes no positional arguments (use --factors FILE).", EXIT_USAGE);
    const set = loadFactorSet(io, values);
    if (values.json) {
      io.stdout(`${toJson(set)}\n`);
      return EXIT_OK;
    }
    const c = set.content;
    io.stdout(
      [
        `id        ${set.id}`,
        `name      ${c.name}`,
        `source    ${c.source}`,
        `year      ${c.year ?? "not stated by the source"}`,
        `gwp       ${c.gwp.report}: CH4 fossil ${c.gwp.ch4Fossil}, CH4 non-fossil ${c.gwp.ch4NonFossil}, N2O ${c.gwp.n2o}`,
        `sector    ${c.stationarySector ?? "—"}`,
        `fuels     ${Object.keys(c.fuels).join(", ")}`,
        `grid      ${c.grid ? `${Object.keys(c.grid.mgCo2ePerKwh).length} countries` : "—"}`,
        `spend     ${c.spend ? `${Object.keys(c.spend.factors).length} categories (${c.spend.unit})` : "— (import with `carbonproof factors import`)"}`,
      ].join("\n") + "\n",
    );
    return EXIT_OK;
  }
  throw new CliError(`Unknown factors command ${JSON.stringify(sub)}.\n\n${FACTORS_HELP}`);
}
