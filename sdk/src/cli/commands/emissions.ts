import { parseArgs } from "node:util";
import { ActivityError, computeActivity, parseActivities, type ActivityResult } from "../../methodology/activity.ts";
import { CliError, EXIT_OK, EXIT_USAGE, parseJson, readInput, toJson, type Io } from "../io.ts";
import { FACTOR_OPTIONS, FACTOR_OPTIONS_HELP, loadFactorSet } from "./factorSetOption.ts";

export const EMISSIONS_HELP = `Usage: carbonproof emissions [FILE|-] [--json] [--factors FILE | --gwp AR5|AR6 --sector S]

Reads a JSON array of activity records (from FILE, or stdin for - or none) and prints
one result per record: fossilCo2Grams, ch4Grams, n2oGrams, co2eGrams, biogenicCo2Grams,
factorSetId, citations. Grams carry milligram precision; null where the factor is a
CO2e intensity that does not separate gases.

Records:
  {"kind":"flue-gas","co2Ppm","velocityMmS","tempCentiC","pressurePa","ductDiameterMm","durationS"[, "biogenic":true]}
  {"kind":"electricity","energyWh","country":"KEN","year":2024[, "renewableWh"]}
  {"kind":"electricity","energyWh","gridGramsPerKwh"[, "source"]}
  {"kind":"fuel","fuel":"diesel","massKg"|"litres"|"energyGj"}     (litres need "densityKgPerM3" and "densitySource")
  {"kind":"spend","category":"<NAICS-6>","amount","currency":"USD"} (needs --factors with imported EPA factors)

Integers: flue-gas fields, energyWh, renewableWh, durationS, year. Decimals: massKg and
litres (3 places), energyGj (6), amount (2), gridGramsPerKwh (3).

Options:
  --json             print a JSON array instead of text
${FACTOR_OPTIONS_HELP}
  -h, --help         this help

Exit status: 0 computed; 2 bad input (stderr names record index, field and what is
expected; nothing is printed to stdout).
`;

function grams(mg: bigint | null): number | null {
  if (mg === null) return null;
  return Number(mg) / 1000;
}

export function emissionsCommand(io: Io, argv: string[]): number {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" }, ...FACTOR_OPTIONS },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(EMISSIONS_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new CliError("emissions takes at most one FILE.");
  const set = loadFactorSet(io, values);
  const { text, name } = readInput(io, positionals[0]);
  const input = parseJson(text, name);
  let results: ActivityResult[];
  let records;
  try {
    records = parseActivities(input);
    results = records.map((r, i) => computeActivity(r, i, set));
  } catch (error) {
    if (error instanceof ActivityError) throw new CliError(error.message, EXIT_USAGE, { cause: error });
    throw error;
  }
  const out = results.map((r, index) => ({
    index,
    kind: records[index]!.kind,
    fossilCo2Grams: grams(r.fossilCo2Mg),
    ch4Grams: grams(r.ch4Mg),
    n2oGrams: grams(r.n2oMg),
    co2eGrams: grams(r.fossilCo2eMg),
    biogenicCo2Grams: grams(r.biogenicCo2Mg),
    ...(r.scope2
      ? {
          scope2: {
            locationGrams: grams(r.scope2.locationMg),
            marketGrams: grams(r.scope2.marketMg),
            renewableWh: r.scope2.renewableWh,
          },
        }
      : {}),
    factorSetId: r.factorSetId,
    citations: r.citations,
    ...(r.warnings.length > 0 ? { warnings: r.warnings } : {}),
  }));
  if (values.json) {
    io.stdout(`${toJson(out)}\n`);
    return EXIT_OK;
  }
  const fmt = (g: number | null) => (g === null ? "—" : `${g} g`);
  const lines: string[] = [];
  for (const r of out) {
    lines.push(
      `#${r.index} ${r.kind}: co2e ${fmt(r.co2eGrams)} (fossil CO2 ${fmt(r.fossilCo2Grams)}, CH4 ${fmt(r.ch4Grams)}, N2O ${fmt(r.n2oGrams)}; biogenic CO2 ${fmt(r.biogenicCo2Grams)})`,
    );
    for (const c of r.citations) lines.push(`    source: ${c}`);
    for (const w of r.warnings ?? []) lines.push(`    warning: ${w}`);
  }
  lines.push(`factor set ${set.id} (${set.content.name})`);
  io.stdout(`${lines.join("\n")}\n`);
  return EXIT_OK;
}
