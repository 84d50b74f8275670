/**
 * The per-facility, per-period emissions report, shaped after what EU CBAM reporting asks an
 * installation operator to communicate (Commission Implementing Regulation (EU) 2023/1773, Annex IV,
 * "content of the recommended communication from operators of production installations to reporting
 * declarants", with the monitoring rules of its Annex III): installation, reporting period,
 * processes, direct and indirect emissions, the electricity emission factor and its source, biogenic
 * CO2 apart, the monitoring approach, data quality, and every piece of evidence. One model feeds the
 * printable page and the JSON download, so both carry the same figures; its totals are the sum of the
 * on-chain attestation totals of the period (revoked attestations listed apart, never counted).
 */
import type {
  AttestationDetail,
  DeviceSummary,
  Hex,
  ProjectSummary,
  ReadingSummary,
} from "@carbonproof/subgraph/client";
import {
  attestationsInRange,
  reconcileAttestation,
  scopeTotals,
  sourceBreakdown,
  sourceInfo,
  sumAttestations,
  type AttestedTotals,
  type SourceRow,
} from "./aggregate.ts";
import { type DayRange, dayToIso, rangeSeconds } from "./period.ts";

export const REPORT_SCHEMA = "carbonproof.cbam-report/1";

export const REGULATION = {
  title:
    "Commission Implementing Regulation (EU) 2023/1773 of 17 August 2023 laying down the rules for the application of Regulation (EU) 2023/956 as regards reporting obligations for the purposes of the carbon border adjustment mechanism during the transitional period",
  celex: "32023R1773",
  url: "https://eur-lex.europa.eu/eli/reg_impl/2023/1773/oj",
  sections:
    "Annex IV (content of the recommended communication from operators of installations to reporting declarants); Annex III (monitoring: calculation-based and measurement-based approaches, indirect emissions from electricity)",
  note: "This report follows the shape of that communication so that a buyer or declarant who asks for it gets the data in that order. It is not a verified CBAM communication; CBAM covers the goods in Annex I of Regulation (EU) 2023/956 (cement, iron and steel, aluminium, fertilisers, electricity, hydrogen), and an installation outside those sectors (a tea factory, seed 002) uses it as a structure only.",
} as const;

/** A built-in factor set recognised by its id, with the grid factors its content carries. */
export type KnownFactorSet = {
  label: string;
  source: string;
  gridCitation: string;
  /** ISO 3166-1 alpha-3 → mg CO2e per kWh */
  gridMgCo2ePerKwh: Record<string, number>;
};

export type ReportInput = {
  facility: {
    id: Hex;
    code: string | null;
    name: string | null;
    /** ISO 3166-1 alpha-3 from the facility directory (off-chain) */
    country: string | null;
    devices: readonly DeviceSummary[];
    projects: readonly ProjectSummary[];
    /** devices registered in all (FacilitySummary.deviceCount), to say how many a capped list leaves out */
    deviceCount?: number;
    /** the cap the devices were read up to when the facility has more (lib/reports/facility.ts); absent or null: all of them */
    devicesCappedAt?: number | null;
    /** the cap the projects were read up to when the facility has more; absent or null: all of them */
    projectsCappedAt?: number | null;
  };
  range: DayRange;
  generatedAtS: number;
  chain: { chainId: number; chainName: string; attestationRegistry: string | null };
  /** the facility's attestations (details); those of the period are picked here */
  attestations: readonly AttestationDetail[];
  /** readings of each counted attestation from its indexed bundle; null when the backend has none */
  readingsOf: ((attestationId: Hex) => readonly ReadingSummary[]) | null;
  /** why `readingsOf` is null when the backend does index readings (too many for one report) */
  readingsOmitted?: string;
  knownFactorSets: Readonly<Record<string, KnownFactorSet>>;
};

export type EvidenceRef = {
  attestationId: Hex;
  auditPath: string;
  periodStart: string;
  periodEnd: string;
  periodStartUnixS: bigint;
  periodEndUnixS: bigint;
  readingCount: bigint;
  fossilCo2eGrams: bigint;
  biogenicCo2Grams: bigint;
  merkleRoot: Hex;
  bundleCid: string;
  transactionHash: Hex;
  methodologyId: Hex;
  factorSetId: Hex;
  signerCount: number;
  isCorrection: boolean;
  correctionOf: Hex | null;
  challengeState: AttestationDetail["challengeState"];
  creditsIssuedKg: bigint | null;
  creditId: bigint | null;
  /** the bundle's readings, summed, agree with the header (null: readings not indexed) */
  readingsReconciled: boolean | null;
  revocationReason: string | null;
};

export type CbamReport = {
  schema: typeof REPORT_SCHEMA;
  basis: typeof REGULATION;
  generatedAt: string;
  /**
   * What this report leaves out, each said plainly (empty: nothing): a list of the installation
   * read up to its cap, readings past what a report reads. The page shows them at its top.
   */
  omissions: string[];
  chain: ReportInput["chain"];
  installation: {
    facilityId: string;
    facilityIdBytes32: Hex;
    name: string | null;
    country: string | null;
    projects: { projectId: bigint; name: string; standard: string; active: boolean }[];
    devices: { deviceId: string; kind: DeviceSummary["kind"]; status: DeviceSummary["status"] }[];
    /** the cap each list stopped at (the installation has more, `omissions` says so), null when listed whole */
    listedUpTo: { devices: number | null; projects: number | null };
  };
  reportingPeriod: {
    from: string;
    to: string;
    fromUnixS: bigint;
    toUnixSExclusive: bigint;
    rule: string;
  };
  processes: { process: string; monitoringApproach: string; scope: string; deviceIds: string[] }[];
  production: { outputQuantity: null; specificEmbeddedEmissions: null; reason: string };
  emissions: {
    /** the chain's figures: Σ of the counted attestations' on-chain totals */
    attested: AttestedTotals;
    /** per source from the bundles' readings (mg); null when the backend does not index readings */
    bySource: (SourceRow & { approach: string })[] | null;
    directFossilCo2eMg: bigint | null;
    indirectFossilCo2eMg: bigint | null;
    biogenicCo2Grams: bigint;
    electricityEmissionFactors: {
      factorSetId: string;
      country: string | null;
      mgCo2ePerKwh: number | null;
      method: "location-based";
      source: string;
    }[];
  };
  methodology: { methodologyIds: Hex[]; factorSets: { factorSetId: string; description: string }[] };
  dataQuality: {
    attestationsReconciled: number;
    attestationsNotReconciled: { attestationId: Hex; problems: string[] }[];
    /** attestations whose bundle the indexer has not indexed: the split by source leaves them out */
    bundlesNotIndexed: Hex[];
    readingsIndexed: boolean;
    challenged: Hex[];
    corrections: number;
    statements: string[];
  };
  evidence: EvidenceRef[];
  revoked: EvidenceRef[];
  credits: { issuedKg: bigint; attestationsIssued: number };
};

const DEVICE_PROCESS: Record<DeviceSummary["kind"], { process: string; approach: string; scope: string }> = {
  FlueGas: {
    process: "Combustion (boilers, dryers): stack emissions",
    approach: "Measurement-based: continuous stack CO2, temperature, velocity and pressure per reading",
    scope: "direct",
  },
  FuelMeter: {
    process: "Fuel combustion",
    approach: "Calculation-based: fuel quantity × net calorific value × emission factor (IPCC 2006 Tier 1 defaults)",
    scope: "direct",
  },
  ManualEntry: {
    process: "Fuel or electricity entered by hand with an evidence file",
    approach: "Calculation-based, as for the fuel or electricity entered; the evidence file's SHA-256 is signed",
    scope: "direct or indirect",
  },
  ElectricityMeter: {
    process: "Electricity consumption",
    approach: "Calculation-based: metered kWh × grid emission factor (location-based); on-site renewable kWh apart",
    scope: "indirect",
  },
};

function evidenceRef(a: AttestationDetail, reconciled: boolean | null): EvidenceRef {
  return {
    attestationId: a.id,
    auditPath: `/audit/attestation/${a.id}`,
    periodStart: new Date(Number(a.periodStart) * 1000).toISOString(),
    periodEnd: new Date(Number(a.periodEnd) * 1000).toISOString(),
    periodStartUnixS: a.periodStart,
    periodEndUnixS: a.periodEnd,
    readingCount: a.readingCount,
    fossilCo2eGrams: a.fossilCo2eGrams,
    biogenicCo2Grams: a.biogenicCo2Grams,
    merkleRoot: a.merkleRoot,
    bundleCid: a.bundleCid,
    transactionHash: a.transactionHash,
    methodologyId: a.methodologyId,
    factorSetId: a.factorSetId,
    signerCount: a.signers.length,
    isCorrection: a.isCorrection,
    correctionOf: a.correctionOf,
    challengeState: a.challengeState,
    creditsIssuedKg: a.issuance?.amountKg ?? null,
    creditId: a.issuance?.creditId ?? null,
    readingsReconciled: reconciled,
    revocationReason: a.revocation?.reason ?? null,
  };
}

/** Readings read per report at most; beyond this the split by source is left out (and says so). */
export const MAX_REPORT_READINGS = 500_000;

/**
 * The attestations whose readings a report reads (the unrevoked ones), or none and why: every
 * reading is held in memory for the split by source, so past `max` readings in all that split and
 * the reconciliation are left out (the on-chain totals need no reading).
 */
export function readingsPlan(
  details: readonly Pick<AttestationDetail, "revoked" | "readingCount" | "id">[],
  max = MAX_REPORT_READINGS,
): { read: typeof details; omitted?: string } {
  const read = details.filter((a) => !a.revoked);
  const total = read.reduce((n, a) => n + Number(a.readingCount), 0);
  if (total <= max) return { read };
  return {
    read: [],
    omitted: `The period's attestations hold ${total.toLocaleString("en-US")} readings, more than the ${max.toLocaleString("en-US")} a report reads: reconciliation with the bundles and the split by source are left out (choose a shorter period for them; the totals are the on-chain ones).`,
  };
}

/** Assembles the report; pure (the loader fetches, this decides). */
export function buildReport(input: ReportInput): CbamReport {
  const { facility, range } = input;
  const { counted, revoked } = attestationsInRange(input.attestations, range);
  const attested = sumAttestations(counted);

  // readings per counted attestation: source split and reconciliation with the header totals
  const notReconciled: { attestationId: Hex; problems: string[] }[] = [];
  const notIndexed: Hex[] = [];
  const reconciledIds = new Set<Hex>();
  let bySource: CbamReport["emissions"]["bySource"] = null;
  if (input.readingsOf) {
    const all: ReadingSummary[] = [];
    for (const a of counted) {
      const readings = input.readingsOf(a.id);
      if (readings.length === 0 && a.readingCount > 0n) {
        notIndexed.push(a.id); // the bundle has not been fetched and indexed (yet): nothing to compare
        continue;
      }
      const r = reconcileAttestation(a, readings);
      if (r.ok) reconciledIds.add(a.id);
      else notReconciled.push({ attestationId: a.id, problems: r.problems });
      all.push(...readings);
    }
    bySource = sourceBreakdown(
      all.map((r) => ({
        source: r.source,
        readingCount: 1,
        fossilCo2eMg: r.fossilCo2eMg,
        biogenicCo2Mg: r.biogenicCo2Mg,
      })),
    ).map((s) => ({ ...s, approach: sourceInfo(s.source).approach }));
  }
  const scopes = bySource ? scopeTotals(bySource) : null;

  const factorSetIds = [...new Set(counted.map((a) => a.factorSetId))];
  const hasElectricity =
    facility.devices.some((d) => d.kind === "ElectricityMeter") ||
    (bySource?.some((s) => s.source.startsWith("electricity")) ?? false);
  const electricityEmissionFactors = hasElectricity
    ? factorSetIds.map((id) => {
        const known = input.knownFactorSets[id.toLowerCase()];
        const mg = known && facility.country ? (known.gridMgCo2ePerKwh[facility.country] ?? null) : null;
        return {
          factorSetId: id,
          country: facility.country,
          mgCo2ePerKwh: mg,
          method: "location-based" as const,
          source: known
            ? known.gridCitation
            : "not a built-in factor set of this release: the factor is in the factor set carried by each evidence bundle",
        };
      })
    : [];

  const processes = (Object.keys(DEVICE_PROCESS) as DeviceSummary["kind"][])
    .map((kind) => {
      const ids = facility.devices.filter((d) => d.kind === kind).map((d) => d.code ?? d.id);
      return ids.length
        ? {
            process: DEVICE_PROCESS[kind].process,
            monitoringApproach: DEVICE_PROCESS[kind].approach,
            scope: DEVICE_PROCESS[kind].scope,
            deviceIds: ids,
          }
        : null;
    })
    .filter((p): p is NonNullable<typeof p> => p !== null);

  const evidence = counted.map((a) =>
    evidenceRef(a, input.readingsOf && !notIndexed.includes(a.id) ? reconciledIds.has(a.id) : null),
  );
  const issued = counted.filter((a) => a.issuance);
  const { fromTs, toTsExclusive } = rangeSeconds(range);

  const statements = [
    "Every reading is signed on the device (P-256) and its digest is a leaf of the attestation's Merkle root on-chain; the evidence bundle (by CID) holds the signed readings, the factor set and the results.",
    `Each attestation carries the signatures of ${counted.length ? Math.min(...counted.map((a) => a.signers.length)) : 0}+ oracle nodes (quorum checked on-chain).`,
    input.readingsOf
      ? `${reconciledIds.size} of ${counted.length} attestations reconciled: their bundle readings, summed and floored once to grams, equal the on-chain totals.${notIndexed.length ? ` ${notIndexed.length} bundle(s) not indexed yet: the split by source leaves them out.` : ""}`
      : (input.readingsOmitted ??
        "Readings are not indexed by this backend (subgraph): reconciliation with the bundles and the split by source need the embedded indexer."),
    "Biogenic CO2 (biomass burnt) is reported apart and is not part of the fossil totals (GHG Protocol; CH4 and N2O of biomass combustion are counted).",
  ];
  if (revoked.length)
    statements.push(`${revoked.length} revoked attestation(s) of the period are listed apart and not counted.`);
  const omissions = listOmissions(facility);
  if (input.readingsOmitted) omissions.push(input.readingsOmitted);

  return {
    schema: REPORT_SCHEMA,
    basis: REGULATION,
    generatedAt: new Date(input.generatedAtS * 1000).toISOString(),
    omissions,
    chain: input.chain,
    installation: {
      facilityId: facility.code ?? facility.id,
      facilityIdBytes32: facility.id,
      name: facility.name,
      country: facility.country,
      projects: facility.projects.map((p) => ({
        projectId: p.id,
        name: p.name,
        standard: p.standard,
        active: p.active,
      })),
      devices: facility.devices.map((d) => ({ deviceId: d.code ?? d.id, kind: d.kind, status: d.status })),
      listedUpTo: { devices: facility.devicesCappedAt ?? null, projects: facility.projectsCappedAt ?? null },
    },
    reportingPeriod: {
      from: dayToIso(range.fromDay),
      to: dayToIso(range.toDay),
      fromUnixS: fromTs,
      toUnixSExclusive: toTsExclusive,
      rule: "An attestation belongs to the period its own period starts in (UTC); revoked attestations are listed apart and not counted.",
    },
    processes,
    production: {
      outputQuantity: null,
      specificEmbeddedEmissions: null,
      reason:
        "Readings carry no production output (sdk/src/reading/schema.ts has flue-gas, electricity, fuel and manual measurements only), so specific embedded emissions per tonne of product cannot be computed from attested data.",
    },
    emissions: {
      attested,
      bySource,
      directFossilCo2eMg: scopes ? scopes.direct.fossilCo2eMg : null,
      indirectFossilCo2eMg: scopes ? scopes.indirect.fossilCo2eMg : null,
      biogenicCo2Grams: attested.biogenicCo2Grams,
      electricityEmissionFactors,
    },
    methodology: {
      methodologyIds: [...new Set(counted.map((a) => a.methodologyId))],
      factorSets: factorSetIds.map((id) => ({
        factorSetId: id,
        description:
          input.knownFactorSets[id.toLowerCase()]?.source ??
          "custom factor set (carried in full by each evidence bundle)",
      })),
    },
    dataQuality: {
      attestationsReconciled: reconciledIds.size,
      attestationsNotReconciled: notReconciled,
      bundlesNotIndexed: notIndexed,
      readingsIndexed: input.readingsOf !== null,
      challenged: counted.filter((a) => a.challengeState !== "None").map((a) => a.id),
      corrections: attested.correctionCount,
      statements,
    },
    evidence,
    revoked: revoked.map((a) => evidenceRef(a, null)),
    credits: { issuedKg: issued.reduce((s, a) => s + a.issuance!.amountKg, 0n), attestationsIssued: issued.length },
  };
}

/** What a capped list of the installation leaves out, in words a reader of the report cannot miss. */
function listOmissions(facility: ReportInput["facility"]): string[] {
  const out: string[] = [];
  const n = (x: number) => x.toLocaleString("en-US");
  if (facility.devicesCappedAt != null) {
    const total =
      facility.deviceCount !== undefined && facility.deviceCount > facility.devicesCappedAt
        ? `${n(facility.deviceCount)} monitoring devices`
        : "more monitoring devices than that";
    out.push(
      `Only the first ${n(facility.devicesCappedAt)} monitoring devices of the installation (oldest registration first) are listed; it has ${total}. The others are left out of the installation's devices and of what the report derives from them (its production processes and monitoring approaches, whether electricity is monitored). The emissions are the attested totals, which count every device.`,
    );
  }
  if (facility.projectsCappedAt != null)
    out.push(
      `Only the first ${n(facility.projectsCappedAt)} credit projects of the installation (oldest registration first) are listed; it has more, left out of the installation's projects.`,
    );
  return out;
}

/** JSON text of a report: bigint as decimal strings (the key names carry the units). */
export function reportJson(report: CbamReport): string {
  return JSON.stringify(report, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2);
}
