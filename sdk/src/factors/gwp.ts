/**
 * 100-year global warming potentials, selectable by IPCC assessment report.
 * AR5: WG1 Ch. 8, Table 8.7 (CH4 28, N2O 265; without climate-carbon feedbacks).
 * AR6: WG1 Ch. 7, Table 7.15 (CH4 fossil 29.8, CH4 non-fossil 27.0, N2O 273).
 */
export type GwpReport = "AR5" | "AR6";

export type GwpTable = {
  report: GwpReport;
  ch4Fossil: string;
  ch4NonFossil: string;
  n2o: string;
  citation: string;
};

export const GWP_TABLES: Record<GwpReport, GwpTable> = {
  AR5: {
    report: "AR5",
    ch4Fossil: "28",
    ch4NonFossil: "28",
    n2o: "265",
    citation: "IPCC AR5 WG1 (2013), Ch. 8, Table 8.7: GWP100 CH4 28, N2O 265",
  },
  AR6: {
    report: "AR6",
    ch4Fossil: "29.8",
    ch4NonFossil: "27.0",
    n2o: "273",
    citation: "IPCC AR6 WG1 (2021), Ch. 7, Table 7.15: GWP100 CH4 fossil 29.8, CH4 non-fossil 27.0, N2O 273",
  },
};
