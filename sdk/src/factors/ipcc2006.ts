/**
 * Fuel defaults from the 2006 IPCC Guidelines for National Greenhouse Gas Inventories,
 * Volume 2 (Energy):
 *   - Chapter 1, Table 1.2: default net calorific values (NCV), TJ/Gg (= kJ/g)
 *   - Chapter 1, Table 1.4: default CO2 emission factors for combustion, kg CO2/TJ on a
 *     net calorific basis
 *   - Chapter 2, Table 2.2 (energy industries) and Table 2.3 (manufacturing industries
 *     and construction): default CH4 and N2O emission factors for stationary
 *     combustion, kg/TJ on a net calorific basis
 *
 * Only the rows below are shipped: the defaults (not the lower/upper bounds), each
 * entry citing its table and row. Values are decimal strings, copied as printed.
 * No densities: the Guidelines' tables do not give them, so a volume of fuel needs a
 * density supplied with its source (factor-set entry `densityKgPerM3`).
 */

export const IPCC_2006_V2 = "2006 IPCC Guidelines for National Greenhouse Gas Inventories, Vol. 2 (Energy)";

export type StationarySector = "energy" | "manufacturing";

export type IpccFuelRow = {
  /** The row name in the IPCC tables. */
  ipccName: string;
  ncvTjPerGg: string;
  co2KgPerTj: string;
  /** CH4 and N2O by sector table. */
  ch4KgPerTj: Record<StationarySector, string>;
  n2oKgPerTj: Record<StationarySector, string>;
  /** Biomass: its CO2 is biogenic, reported apart from scope totals. */
  biogenic: boolean;
};

export const IPCC_2006_FUELS = {
  diesel: {
    ipccName: "Gas/Diesel Oil",
    ncvTjPerGg: "43.0",
    co2KgPerTj: "74100",
    ch4KgPerTj: { energy: "3", manufacturing: "3" },
    n2oKgPerTj: { energy: "0.6", manufacturing: "0.6" },
    biogenic: false,
  },
  petrol: {
    ipccName: "Motor Gasoline",
    ncvTjPerGg: "44.3",
    co2KgPerTj: "69300",
    ch4KgPerTj: { energy: "3", manufacturing: "3" },
    n2oKgPerTj: { energy: "0.6", manufacturing: "0.6" },
    biogenic: false,
  },
  kerosene: {
    ipccName: "Other Kerosene",
    ncvTjPerGg: "43.8",
    co2KgPerTj: "71900",
    ch4KgPerTj: { energy: "3", manufacturing: "3" },
    n2oKgPerTj: { energy: "0.6", manufacturing: "0.6" },
    biogenic: false,
  },
  "heavy-fuel-oil": {
    ipccName: "Residual Fuel Oil",
    ncvTjPerGg: "40.4",
    co2KgPerTj: "77400",
    ch4KgPerTj: { energy: "3", manufacturing: "3" },
    n2oKgPerTj: { energy: "0.6", manufacturing: "0.6" },
    biogenic: false,
  },
  lpg: {
    ipccName: "Liquefied Petroleum Gases",
    ncvTjPerGg: "47.3",
    co2KgPerTj: "63100",
    ch4KgPerTj: { energy: "1", manufacturing: "1" },
    n2oKgPerTj: { energy: "0.1", manufacturing: "0.1" },
    biogenic: false,
  },
  "natural-gas": {
    ipccName: "Natural Gas",
    ncvTjPerGg: "48.0",
    co2KgPerTj: "56100",
    ch4KgPerTj: { energy: "1", manufacturing: "1" },
    n2oKgPerTj: { energy: "0.1", manufacturing: "0.1" },
    biogenic: false,
  },
  anthracite: {
    ipccName: "Anthracite",
    ncvTjPerGg: "26.7",
    co2KgPerTj: "98300",
    ch4KgPerTj: { energy: "1", manufacturing: "10" },
    n2oKgPerTj: { energy: "1.5", manufacturing: "1.5" },
    biogenic: false,
  },
  "coal-bituminous": {
    ipccName: "Other Bituminous Coal",
    ncvTjPerGg: "25.8",
    co2KgPerTj: "94600",
    ch4KgPerTj: { energy: "1", manufacturing: "10" },
    n2oKgPerTj: { energy: "1.5", manufacturing: "1.5" },
    biogenic: false,
  },
  "coal-sub-bituminous": {
    ipccName: "Sub-Bituminous Coal",
    ncvTjPerGg: "18.9",
    co2KgPerTj: "96100",
    ch4KgPerTj: { energy: "1", manufacturing: "10" },
    n2oKgPerTj: { energy: "1.5", manufacturing: "1.5" },
    biogenic: false,
  },
  lignite: {
    ipccName: "Lignite",
    ncvTjPerGg: "11.9",
    co2KgPerTj: "101000",
    ch4KgPerTj: { energy: "1", manufacturing: "10" },
    n2oKgPerTj: { energy: "1.5", manufacturing: "1.5" },
    biogenic: false,
  },
  firewood: {
    ipccName: "Wood/Wood Waste",
    ncvTjPerGg: "15.6",
    co2KgPerTj: "112000",
    ch4KgPerTj: { energy: "30", manufacturing: "30" },
    n2oKgPerTj: { energy: "4", manufacturing: "4" },
    biogenic: true,
  },
  charcoal: {
    ipccName: "Charcoal",
    ncvTjPerGg: "29.5",
    co2KgPerTj: "112000",
    ch4KgPerTj: { energy: "200", manufacturing: "200" },
    n2oKgPerTj: { energy: "4", manufacturing: "4" },
    biogenic: true,
  },
  "other-solid-biomass": {
    ipccName: "Other Primary Solid Biomass",
    ncvTjPerGg: "11.6",
    co2KgPerTj: "100000",
    ch4KgPerTj: { energy: "30", manufacturing: "30" },
    n2oKgPerTj: { energy: "4", manufacturing: "4" },
    biogenic: true,
  },
} as const satisfies Record<string, IpccFuelRow>;

export type IpccFuelId = keyof typeof IPCC_2006_FUELS;

/** Accepted alternative spellings of fuel ids (input only; results name the canonical id). */
export const FUEL_ALIASES: Record<string, IpccFuelId> = {
  "wood-waste": "firewood",
  wood: "firewood",
  gasoline: "petrol",
  "residual-fuel-oil": "heavy-fuel-oil",
  hfo: "heavy-fuel-oil",
  "gas-diesel-oil": "diesel",
};

export function ipccCitations(row: IpccFuelRow, sector: StationarySector) {
  const sectorTable =
    sector === "energy" ? "Table 2.2 (energy industries)" : "Table 2.3 (manufacturing industries and construction)";
  return {
    ncv: `${IPCC_2006_V2}, Ch. 1, Table 1.2, row "${row.ipccName}": NCV ${row.ncvTjPerGg} TJ/Gg`,
    co2: `${IPCC_2006_V2}, Ch. 1, Table 1.4, row "${row.ipccName}": CO2 ${row.co2KgPerTj} kg/TJ`,
    ch4n2o: `${IPCC_2006_V2}, Ch. 2, ${sectorTable}, row "${row.ipccName}": CH4 ${row.ch4KgPerTj[sector]} kg/TJ, N2O ${row.n2oKgPerTj[sector]} kg/TJ`,
  };
}
