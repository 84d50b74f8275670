import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { parseArgs } from "node:util";
import { createPublicClient, getAddress, http, isAddress, type Abi, type Address, type Hex } from "viem";
import type { ContractName, DeployedContract } from "../../contracts/generated.ts";
import type { EventReadSettingNames } from "../../chain/eventRangeError.ts";
import { SdkError } from "../../errors.ts";
import { scrubUrls, urlForMessages, urlScrubber } from "../../urls.ts";
import { parseEnvelope } from "../../reading/parse.ts";
import { carbonCreditsAbi, deployedContracts, marketplaceAbi, retirementCertificatesAbi } from "../../verify/abi.ts";
import { fileSource, folderSource } from "../../verify/fileSource.ts";
import { heliaRepoSource } from "../../verify/heliaRepoSource.ts";
import { gatewaySource, type BundleSource } from "../../verify/sources.ts";
import {
  describeFacilityContext,
  describeFactorSetOrigin,
  factorSetOrigin,
  type FactorSetOrigin,
} from "../../verify/factorSetOrigin.ts";
import {
  verifyAttestation,
  type VerifyEvidence,
  type VerifyReport,
  type VerifyTarget,
} from "../../verify/verifyAttestation.ts";
import { verifyCredit, verifyRetirement, type CreditReport } from "../../verify/verifyCredit.ts";
import {
  CliError,
  EXIT_FAIL,
  EXIT_INCOMPLETE,
  EXIT_OK,
  EXIT_USAGE,
  parseJson,
  readInput,
  rpcTransportError,
  toJson,
  type Io,
} from "../io.ts";
import { ProgressLine, formatCount } from "../progress.ts";
import type { LineageReport } from "../../verify/verifyLineage.ts";

/**
 * What takes a URL's secrets out of an error's text: the command's own URLs (`known`, written
 * whole, whatever is in them) first, then any other URL (a redirect's, one a gateway or a library
 * quotes), as the oracle node does.
 */
function errorScrubber(known: readonly (string | undefined)[]): (text: string) => string {
  const scrubKnown = urlScrubber(known);
  return (text) => scrubUrls(scrubKnown(text));
}

export const VERIFY_HELP = `Usage: carbonproof verify --rpc URL (--registry ADDR [--device-registry ADDR] | --addresses FILE)
                          (--attestation ID | --envelope FILE | --credit TOKEN_ID | --retirement CERT_ID)
                          --bundle (FILE | GATEWAY_URL) [--json]

The auditor's verifier. Re-checks every link of the chain of custody and prints one
line per link, PASS or FAIL with the reason:
  - the attestation exists (AttestationSubmitted event), is not revoked, and its id is
    the EIP-712 digest of its header; the stored root is the header's root
  - the bundle's bytes hash to the CID in the header (CIDv1 raw sha2-256)
  - the bundle is canonical format 1 and agrees with the header (facility, period,
    root, count, totals, methodology id, factor-set id)
  - the factor-set id is the hash of the factor set in the bundle; each reading digest;
    each reading belongs to the facility and period; the Merkle root of the readings
  - each device signature, with the key DeviceRegistry held at the reading's time,
    and each device registered to the facility
  - no reading stamped while its device was suspended or retired (its DeviceRegistry
    status since it changed, and its past suspensions from the registry's events)
  - each reading's result and the totals, recomputed with the bundle's factor set
  - readings proven on-chain with AttestationRegistry.verifyReading
  - the quorum: signatures recovered from the submitting transaction equal the
    registry's signer bitmap and reach the OracleSet threshold at that block
  - no reading (deviceId, seq) or digest is in another live attestation of the
    facility, corrections included (needs a gateway: prints SKIP with a file)

Options:
  --rpc URL               JSON-RPC endpoint of the chain
  --registry ADDR         AttestationRegistry address
  --device-registry ADDR  DeviceRegistry address (device keys)
  --addresses FILE        deployed addresses JSON (e.g. ignition/deployments/chain-31337/deployed_addresses.json):
                          keys ending in AttestationRegistry, DeviceRegistry, CarbonCredits,
                          RetirementCertificates and Marketplace are used.
                          Without a registry from --registry or --addresses: the deployed addresses
                          of the chain's id in sdk/src/contracts/generated.ts, and its startBlock.
                          With one, nothing is taken from generated.ts (it may be another
                          deployment): CarbonCredits is read from RetirementCertificates.credits()
                          or Marketplace.credits(), RetirementCertificates from
                          CarbonCredits.certificates(); DeviceRegistry needs its flag
  --attestation ID        attestation id (bytes32)
  --envelope FILE         a signed reading envelope: finds the attestation whose bundle holds it
  --credit TOKEN_ID       a credit (CarbonCredits token id): each issuance within floor((baseline −
                          attested grams) / 1000) kg of its project and period, the project of the
                          attestation's facility and methodology, by an issuer who did not
                          co-sign, and every backing attestation as above
  --retirement CERT_ID    a retirement certificate: its credit, as --credit
  --credits ADDR          CarbonCredits address (for --credit)
  --certificates ADDR     RetirementCertificates address (for --retirement)
  --marketplace ADDR      Marketplace address (for --retirement: the purchase that delivered the
                          retired credits; without it the purchase link is a SKIP)
  --bundle SRC            the bundle: a file, an IPFS HTTP gateway base URL, a folder of <cid>.json
                          files, or a Helia repository directory (the oracle's <dataDir>/ipfs);
                          all but a file are read by CID.
  --from-block N          first block to search for events: the deployment's (default: its
                          startBlock in generated.ts when the addresses come from there, else 0)
  --log-range N           blocks per eth_getLogs query of those searches (default 5000); lower it
                          when the RPC refuses a range (many cap eth_getLogs at a few thousand blocks)
  --onchain-proofs N      readings also proven with verifyReading on-chain (default 16)
  --skip-history          do not fetch the facility's other bundles (no-double-attestation check)
  --json                  print {attestationId, ok, checks[], facilityContext, factorSet, evidence} as
                          JSON (a credit: {checks[], attestations[] of those, ok})

Besides the links, each attestation prints two NOTE lines that no check can decide: the
facility context its results were computed with (grid country, contractual factor, biogenic
share: compare with the facility's registration), and whether its factor set is the sdk's
built-in one (by name) or which entries differ from it.
  -h, --help              this help

Exit status: 0 no link FAILs (SKIP lines say what could not be checked); 1 a link FAILs;
2 bad usage or input; 3 the run could not complete (the RPC did not answer, or another
operational error): nothing was decided, run it again.
`;

/** What a refused eth_getLogs range's error tells a CLI user to change. */
export const CLI_EVENT_READ_SETTINGS: EventReadSettingNames = {
  range: "--log-range",
  start: "--from-block",
  docsPath: "docs/sdk.md",
};

/** `--log-range N` as the verifier's options take it (blocks per eth_getLogs, at least 1), and the flags' names for its errors. */
export function logRangeOption(value: string | undefined): {
  logRangeBlocks?: bigint;
  eventSettings: EventReadSettingNames;
} {
  if (value === undefined) return { eventSettings: CLI_EVENT_READ_SETTINGS };
  if (!/^[0-9]+$/.test(value) || BigInt(value) < 1n)
    throw new CliError(`--log-range must be a whole number of blocks, at least 1, got ${JSON.stringify(value)}.`);
  return { logRangeBlocks: BigInt(value), eventSettings: CLI_EVENT_READ_SETTINGS };
}

export function address(value: string, flag: string): Address {
  if (!isAddress(value, { strict: false })) throw new CliError(`${flag}: ${JSON.stringify(value)} is not an address.`);
  return getAddress(value);
}

export type Addresses = {
  registry?: Address;
  deviceRegistry?: Address;
  credits?: Address;
  certificates?: Address;
  marketplace?: Address;
};

export function fromAddressesFile(path: string): Addresses {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (cause) {
    throw new CliError(`--addresses ${path}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
  const out: Addresses = {};
  for (const [key, value] of Object.entries(json as Record<string, unknown>)) {
    if (typeof value !== "string" || !isAddress(value, { strict: false })) continue;
    if (/(^|[#.:/])AttestationRegistry$/.test(key)) out.registry = getAddress(value);
    if (/(^|[#.:/])DeviceRegistry$/.test(key)) out.deviceRegistry = getAddress(value);
    if (/(^|[#.:/])CarbonCredits$/.test(key)) out.credits = getAddress(value);
    if (/(^|[#.:/])RetirementCertificates$/.test(key)) out.certificates = getAddress(value);
    if (/(^|[#.:/])Marketplace$/.test(key)) out.marketplace = getAddress(value);
  }
  return out;
}

/**
 * The bundle source `--bundle` names, and the failures of a gateway that are no answer about the
 * bundle (unreachable, timed out, HTTP 5xx or 429): a FAIL they cause would say "the evidence does
 * not hold" when nothing was decided, so the run ends incomplete instead (exit 3). A gateway's 404
 * stays a FAIL: it has no such bundle. A file or folder that is not there is bad input (exit 2),
 * refused before the chain is asked anything. The failures are noted without the secrets of any
 * URL they quote (`value`'s, `known`'s, or another's).
 */
export function bundleSourceOf(
  value: string,
  known: readonly (string | undefined)[] = [],
): { source: BundleSource; unavailable: string[] } {
  const unavailable: string[] = [];
  const scrub = errorScrubber([value, ...known]);
  if (/^https?:\/\//.test(value)) {
    const watched: typeof fetch = async (input, init) => {
      try {
        const res = await fetch(input, init);
        if (res.status >= 500 || res.status === 429)
          unavailable.push(scrub(`HTTP ${res.status} ${res.statusText}`.trim()));
        return res;
      } catch (error) {
        unavailable.push(
          (error as Error).name === "TimeoutError" ? "no answer in time" : scrub((error as Error).message),
        );
        throw error;
      }
    };
    return { source: gatewaySource(value, watched), unavailable };
  }
  if (!existsSync(value))
    throw new CliError(
      `Cannot read ${value}: no such file or folder (--bundle takes a bundle file, a folder of <cid>.json files, an oracle's IPFS repository, or a gateway URL).`,
    );
  if (statSync(value).isDirectory()) {
    // A folder of <cid>.json files (seed-demo, `bundle build`), else a Helia repository.
    const source = readdirSync(value).some((name) => name.endsWith(".json"))
      ? folderSource(value)
      : heliaRepoSource(value);
    return { source, unavailable };
  }
  return { source: fileSource(value), unavailable };
}

/**
 * The addresses a verification uses: each from its flag, else from the --addresses file. Only
 * when neither names the AttestationRegistry do the deployed addresses of the chain in
 * sdk/src/contracts/generated.ts fill the rest, with the registry's startBlock: filled in
 * beside a registry given by the user they could be another deployment's, and its startBlock
 * could skip the given registry's earlier events (a reading attested twice would pass).
 */
export function pickAddresses(
  flags: Addresses,
  file: Addresses,
  deployed: Partial<Record<ContractName, DeployedContract>> | undefined,
): Addresses & { startBlock?: number; registryFrom: "flag" | "file" | "generated" } {
  const given: Addresses = { ...file, ...flags };
  if (given.registry) return { ...given, registryFrom: flags.registry ? "flag" : "file" };
  const generated = (name: ContractName) => deployed?.[name]?.address;
  const registry = generated("AttestationRegistry");
  const deviceRegistry = given.deviceRegistry ?? generated("DeviceRegistry");
  const credits = given.credits ?? generated("CarbonCredits");
  const certificates = given.certificates ?? generated("RetirementCertificates");
  const marketplace = given.marketplace ?? generated("Marketplace");
  const startBlock = deployed?.AttestationRegistry?.startBlock;
  return {
    ...(registry ? { registry } : {}),
    ...(deviceRegistry ? { deviceRegistry } : {}),
    ...(credits ? { credits } : {}),
    ...(certificates ? { certificates } : {}),
    ...(marketplace ? { marketplace } : {}),
    ...(registry && startBlock !== undefined ? { startBlock } : {}),
    registryFrom: "generated",
  };
}

/** Origins of the factor sets seen (by id): a walk's bundles mostly share one. */
const origins = new Map<string, FactorSetOrigin>();
function originOf(set: NonNullable<VerifyEvidence["factorSet"]>): FactorSetOrigin {
  let o = origins.get(set.id);
  if (!o) {
    o = factorSetOrigin(set);
    // a set whose id does not hash its content is judged alone (another may share the id)
    if (o.idMatchesContent) origins.set(set.id, o);
  }
  return o;
}

/** The NOTE lines of an attestation: what the auditor compares by hand (docs/bundle.md). */
function contextLines(e: VerifyEvidence | undefined): string[] {
  if (!e?.facilityContext || !e.factorSet) return [];
  return [
    `NOTE facility context (compare with the facility's registration): ${describeFacilityContext(e.facilityContext)}`,
    `NOTE factor set: ${describeFactorSetOrigin(originOf(e.factorSet))}`,
  ];
}

/** An attestation's report as --json prints it: the factor set as its origin, not its whole content. */
function attestationJson(r: VerifyReport) {
  if (!r.evidence) return r;
  const { facilityContext, factorSet, ...evidence } = r.evidence;
  return {
    ...r,
    ...(facilityContext ? { facilityContext } : {}),
    ...(factorSet ? { factorSet: originOf(factorSet) } : {}),
    evidence,
  };
}

function reportJson(r: VerifyReport | CreditReport) {
  return "attestations" in r ? { ...r, attestations: r.attestations.map(attestationJson) } : attestationJson(r);
}

export async function verifyCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      rpc: { type: "string" },
      registry: { type: "string" },
      "device-registry": { type: "string" },
      addresses: { type: "string" },
      attestation: { type: "string" },
      envelope: { type: "string" },
      credit: { type: "string" },
      retirement: { type: "string" },
      credits: { type: "string" },
      certificates: { type: "string" },
      marketplace: { type: "string" },
      bundle: { type: "string" },
      "from-block": { type: "string" },
      "log-range": { type: "string" },
      "onchain-proofs": { type: "string" },
      "skip-history": { type: "boolean" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(VERIFY_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new CliError(`verify takes no positional arguments.\n\n${VERIFY_HELP}`);
  if (!values.rpc) throw new CliError("verify needs --rpc URL.");
  const targets = [values.attestation, values.envelope, values.credit, values.retirement].filter(
    (v) => v !== undefined,
  );
  if (targets.length !== 1) {
    throw new CliError(
      "verify needs exactly one of --attestation ID, --envelope FILE, --credit TOKEN_ID, --retirement CERT_ID.",
    );
  }
  for (const [flag, v] of [
    ["--credit", values.credit],
    ["--retirement", values.retirement],
  ] as const) {
    if (v !== undefined && !/^[0-9]+$/.test(v)) throw new CliError(`${flag} must be a decimal token/certificate id.`);
  }
  if (!values.bundle) throw new CliError("verify needs --bundle FILE or --bundle GATEWAY_URL.");
  let target: VerifyTarget | undefined;
  if (values.credit !== undefined || values.retirement !== undefined) {
    target = undefined;
  } else if (values.attestation !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(values.attestation))
      throw new CliError("--attestation must be 0x + 64 hex characters.");
    target = { attestationId: values.attestation.toLowerCase() as Hex };
  } else {
    const { text, name } = readInput(io, values.envelope);
    try {
      target = { envelope: parseEnvelope(parseJson(text, name)) };
    } catch (error) {
      if (error instanceof SdkError) throw new CliError(`${name}: ${error.message}`, EXIT_USAGE, { cause: error });
      throw error;
    }
  }
  // every flag checked before the chain is asked anything: bad input is exit 2, not "run it again"
  if (!/^https?:\/\/[^/\s]/.test(values.rpc))
    throw new CliError("--rpc must be an http:// or https:// URL, e.g. http://127.0.0.1:8545.");
  const int = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    if (!/^[0-9]+$/.test(v)) throw new CliError(`${flag} must be a non-negative integer.`);
    return v;
  };
  const fromBlock = int(values["from-block"], "--from-block");
  const onchainProofs = int(values["onchain-proofs"], "--onchain-proofs");
  const ranges = logRangeOption(values["log-range"]);
  const scrub = errorScrubber([values.rpc, values.bundle]);
  const bundles = bundleSourceOf(values.bundle, [values.rpc]);
  const client = createPublicClient({ transport: http(values.rpc) });
  const fromFile = values.addresses ? fromAddressesFile(values.addresses) : {};
  const flags: Addresses = {
    ...(values.registry ? { registry: address(values.registry, "--registry") } : {}),
    ...(values["device-registry"] ? { deviceRegistry: address(values["device-registry"], "--device-registry") } : {}),
    ...(values.credits ? { credits: address(values.credits, "--credits") } : {}),
    ...(values.certificates ? { certificates: address(values.certificates, "--certificates") } : {}),
    ...(values.marketplace ? { marketplace: address(values.marketplace, "--marketplace") } : {}),
  };
  const chainId = (flags.registry ?? fromFile.registry) ? undefined : await client.getChainId();
  const picked = pickAddresses(flags, fromFile, chainId === undefined ? undefined : deployedContracts[chainId]);
  if (!picked.registry) {
    throw new CliError(
      `verify needs --registry ADDR (or --addresses FILE): no AttestationRegistry deployed on chain ${chainId} in sdk/src/contracts/generated.ts.`,
    );
  }
  const registry = picked.registry;
  const deviceRegistry = picked.deviceRegistry;
  const marketplace = picked.marketplace;
  let { credits, certificates } = picked;
  const startBlock = picked.startBlock;
  // The contracts point to each other: what was not given is read from what was (never guessed
  // from another deployment).
  const read = async (from: Address, flag: string, abi: Abi, functionName: string): Promise<Address> => {
    try {
      return getAddress((await client.readContract({ address: from, abi, functionName })) as string);
    } catch (cause) {
      if (rpcTransportError(cause)) throw cause; // the RPC out of reach: the run could not complete (exit 3)
      throw new CliError(
        `cannot read ${functionName}() of ${from} (${flag}): ${scrub((cause as Error).message.split("\n")[0]!)}; give the address with its own flag`,
        EXIT_USAGE,
        { cause },
      );
    }
  };
  if (values.credit !== undefined || values.retirement !== undefined) {
    if (!credits && certificates)
      credits = await read(certificates, "--certificates", retirementCertificatesAbi, "credits");
    if (!credits && marketplace) credits = await read(marketplace, "--marketplace", marketplaceAbi, "credits");
  }
  if (values.retirement !== undefined && !certificates && credits)
    certificates = await read(credits, "--credits", carbonCreditsAbi, "certificates");
  const notGenerated =
    picked.registryFrom === "generated"
      ? ""
      : ` (${picked.registryFrom === "flag" ? "--registry" : "--addresses"} was given, so the addresses of sdk/src/contracts/generated.ts are not used: they may be another deployment's)`;
  const common = {
    client,
    registry,
    ...(deviceRegistry ? { deviceRegistry } : {}),
    source: bundles.source,
    ...ranges,
    ...(fromBlock !== undefined
      ? { fromBlock: BigInt(fromBlock) }
      : startBlock !== undefined
        ? { fromBlock: BigInt(startBlock) }
        : {}),
    ...(onchainProofs !== undefined ? { onchainProofs: Number(onchainProofs) } : {}),
    checkHistory: !values["skip-history"],
  };
  const line = (c: { ok: boolean; skipped?: boolean; link: string; detail: string }) =>
    `${c.skipped ? "SKIP" : c.ok ? "PASS" : "FAIL"} ${c.link}: ${c.detail}`;
  const attestationLines = (r: VerifyReport) => [
    ...r.checks.map(line),
    ...contextLines(r.evidence),
    r.ok
      ? `VERIFIED attestation ${r.attestationId}`
      : `NOT VERIFIED${r.attestationId ? ` attestation ${r.attestationId}` : ""}`,
  ];
  let report: VerifyReport | CreditReport;
  let lines: string[];
  // a walk of many attestations (each fetching its facility's other bundles) takes a while: a
  // line on stderr, every 5 s (rewritten in place on a terminal); stdout keeps the report alone
  const progress = new ProgressLine({ write: io.stderr, tty: io.stderrIsTty, ...(io.now ? { now: io.now } : {}) });
  const walked = {
    onProgress: (r: LineageReport) =>
      progress.update(() => {
        const attestations = r.sections.filter((s) => s.kind === "attestation");
        const links = r.sections.reduce((n, s) => n + s.checks.length, 0);
        return `verify: ${attestations.filter((s) => s.done).length} of ${attestations.length} attestation(s) checked so far, ${formatCount(links)} links decided, ${Math.round(progress.elapsedS())} s`;
      }),
  };
  if (target === undefined) {
    if (values.retirement !== undefined) {
      if (!certificates)
        throw new CliError(
          `--retirement needs --certificates ADDR, or --credits ADDR of the same deployment (or --addresses FILE naming RetirementCertificates)${notGenerated}.`,
        );
      report = await verifyRetirement({
        ...common,
        certificates,
        ...(credits ? { credits } : {}),
        ...(marketplace ? { marketplace } : {}),
        certificateId: BigInt(values.retirement),
        ...walked,
      });
    } else {
      if (!credits)
        throw new CliError(
          `--credit needs --credits ADDR, or --certificates/--marketplace ADDR of the same deployment (or --addresses FILE naming CarbonCredits)${notGenerated}.`,
        );
      report = await verifyCredit({ ...common, credits, tokenId: BigInt(values.credit!), ...walked });
    }
    progress.done();
    const r = report;
    lines = [...r.checks.map(line), ...r.attestations.flatMap(attestationLines)];
    lines.push(
      r.ok
        ? `VERIFIED ${values.retirement !== undefined ? `retirement ${values.retirement}` : `credit ${values.credit}`}`
        : "NOT VERIFIED",
    );
  } else {
    report = await verifyAttestation({ ...common, target });
    lines = attestationLines(report);
  }
  if (!report.ok && bundles.unavailable.length > 0) {
    // a FAIL may be the gateway's failure, not the evidence's: nothing was decided
    const problem = {
      code: "GATEWAY_UNAVAILABLE",
      message: `the gateway at ${urlForMessages(values.bundle, "--bundle")} did not answer for every bundle (${[...new Set(bundles.unavailable)].slice(0, 3).join("; ")}): nothing was decided; run it again, or give another --bundle`,
    };
    io.stdout(
      values.json
        ? `${toJson({ ...reportJson(report), ok: false, error: problem })}\n`
        : `${lines.slice(0, -1).join("\n")}\nINCOMPLETE: ${problem.message}\n`,
    );
    io.stderr(`carbonproof: ${problem.message}\n`);
    return EXIT_INCOMPLETE;
  }
  io.stdout(values.json ? `${toJson(reportJson(report))}\n` : `${lines.join("\n")}\n`);
  return report.ok ? EXIT_OK : EXIT_FAIL;
}
