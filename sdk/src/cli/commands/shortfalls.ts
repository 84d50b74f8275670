import { parseArgs } from "node:util";
import { createPublicClient, http, isAddressEqual, type Address } from "viem";
import { carbonCreditsAbi, deployedContracts } from "../../verify/abi.ts";
import { projectShortfalls } from "../../verify/shortfalls.ts";
import { CliError, EXIT_FAIL, EXIT_OK, toJson, type Io } from "../io.ts";
import { address, fromAddressesFile, logRangeOption } from "./verify.ts";

export const SHORTFALLS_HELP = `Usage: carbonproof shortfalls --rpc URL --project ID
                              [--credits ADDR --registry ADDR | --addresses FILE]
                              [--from-block N] [--log-range N] [--json]

The periods of a credit project that emitted more than its baseline, their challenge window
over, that nobody has recorded yet (CarbonCredits.recordShortfall), and the correction batches
of its facility nobody has recorded (recordCorrection). Until a period is recorded its excess
is not owed by the project, and until a correction is, its grams count against nothing: either
way the credits of the project's other periods can exceed its net reduction (docs/credits.md).
Anyone may record them: call recordCorrection(header) and recordShortfall(ID, header) with each
header printed by --json (corrections first), or open the web app's /audit/project/ID and record
them there with a wallet. \`carbonproof verify --credit\` fails on the same periods.

Each regular attestation of the project's facility that the project has neither issued nor
recorded is asked with an eth_call of recordShortfall, which succeeds exactly for such a period.

Options:
  --rpc URL          JSON-RPC endpoint of the chain
  --project ID       the CarbonCredits project id (decimal)
  --credits ADDR     CarbonCredits address
  --registry ADDR    AttestationRegistry address (default: the one CarbonCredits issues against;
                     when given, it must be that one)
  --addresses FILE   deployed addresses JSON (keys ending in CarbonCredits and AttestationRegistry);
                     without any, the deployment of the chain's id in sdk/src/contracts/generated.ts
  --from-block N     first block to search for events (default: the deployment's, else 0)
  --log-range N      blocks per eth_getLogs query (default 5000); lower it when the RPC refuses a range
  --json             print {projectId, facilityId, owedGrams, regular, settled, unrecorded[], unasked[]}
                     (each unrecorded entry with its full header, the argument recordShortfall takes)
  -h, --help         this help

Exit status: 0 nothing to record; 1 a period is unrecorded, or an attestation could not be asked;
2 bad usage; 3 could not complete (the RPC unreachable or refusing: nothing was decided).
`;

const iso = (unix: bigint) => new Date(Number(unix) * 1000).toISOString().replace(".000Z", "Z");

export async function shortfallsCommand(io: Io, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      rpc: { type: "string" },
      project: { type: "string" },
      credits: { type: "string" },
      registry: { type: "string" },
      addresses: { type: "string" },
      "from-block": { type: "string" },
      "log-range": { type: "string" },
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
    allowPositionals: true,
  });
  if (values.help) {
    io.stdout(SHORTFALLS_HELP);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new CliError(`shortfalls takes no positional arguments.\n\n${SHORTFALLS_HELP}`);
  if (!values.rpc) throw new CliError("shortfalls needs --rpc URL.");
  if (values.project === undefined) throw new CliError("shortfalls needs --project ID (a CarbonCredits project id).");
  if (!/^[0-9]+$/.test(values.project) || Number(values.project) < 1 || Number(values.project) >= 2 ** 40)
    throw new CliError(`--project must be a project id from 1 to 2^40 - 1, got ${JSON.stringify(values.project)}.`);
  const projectId = Number(values.project);
  if (values["from-block"] !== undefined && !/^[0-9]+$/.test(values["from-block"]))
    throw new CliError("--from-block must be a non-negative integer.");
  const ranges = logRangeOption(values["log-range"]);
  const client = createPublicClient({ transport: http(values.rpc) });
  const fromFile = values.addresses ? fromAddressesFile(values.addresses) : {};
  let credits: Address | undefined = values.credits ? address(values.credits, "--credits") : fromFile.credits;
  let registry: Address | undefined = values.registry ? address(values.registry, "--registry") : fromFile.registry;
  let startBlock: number | undefined;
  if (!credits && !registry) {
    // neither given: the deployment of the chain's id in generated.ts, with its start block
    const chainId = await client.getChainId();
    const deployed = deployedContracts[chainId];
    credits = deployed?.CarbonCredits?.address;
    registry = deployed?.AttestationRegistry?.address;
    startBlock = deployed?.AttestationRegistry?.startBlock;
    if (!credits || !registry)
      throw new CliError(
        `shortfalls needs --credits ADDR and --registry ADDR (or --addresses FILE): no deployment on chain ${chainId} in sdk/src/contracts/generated.ts.`,
      );
  } else if (!credits) {
    // a registry of the user's with CarbonCredits of generated.ts would mix two deployments
    throw new CliError(
      `shortfalls needs --credits ADDR with --registry ${registry} (sdk/src/contracts/generated.ts is used only when neither is given).`,
    );
  }
  // the registry CarbonCredits itself issues against: read when not given, checked when given
  const its = (await client.readContract({
    address: credits,
    abi: carbonCreditsAbi,
    functionName: "registry",
  })) as Address;
  if (!registry) registry = its;
  else if (!isAddressEqual(its, registry))
    throw new CliError(
      `CarbonCredits at ${credits} issues against AttestationRegistry ${its}, not ${registry}: give the registry of the same deployment (--registry ${its}), or leave --registry out.`,
    );
  const projectCount = Number(
    await client.readContract({ address: credits, abi: carbonCreditsAbi, functionName: "projectCount" }),
  );
  if (projectId > projectCount)
    throw new CliError(`project ${projectId} is not registered: CarbonCredits at ${credits} has ${projectCount}.`);
  const fromBlock =
    values["from-block"] !== undefined
      ? BigInt(values["from-block"])
      : startBlock !== undefined
        ? BigInt(startBlock)
        : undefined;
  const r = await projectShortfalls({ client, registry, credits, projectId, fromBlock, ...ranges });
  const failed = r.unrecorded.length > 0 || r.unrecordedCorrections.length > 0 || r.unasked.length > 0;
  if (values.json) {
    io.stdout(`${toJson({ ...r, ok: !failed })}\n`);
    return failed ? EXIT_FAIL : EXIT_OK;
  }
  io.stdout(
    `project ${projectId}, facility ${r.facilityId}: ${r.regular} regular attestation(s), ${r.settled} issued or recorded, ${r.corrections} correction batch(es); the project owes ${r.owedGrams} g\n`,
  );
  // corrections first: recording one can take the period it corrects over its baseline
  for (const u of r.unrecordedCorrections)
    io.stdout(
      `UNRECORDED-CORRECTION ${u.attestationId} ${iso(u.header.periodStart)} to ${iso(u.header.periodEnd)}: ${u.fossilCo2eGrams} g against ${u.corrects} (attested in ${u.txHash})\n`,
    );
  for (const u of r.unrecorded)
    io.stdout(
      `UNRECORDED ${u.attestationId} ${iso(u.header.periodStart)} to ${iso(u.header.periodEnd)}: ${u.excessGrams} g above the baseline (attested in ${u.txHash})\n`,
    );
  for (const line of r.unasked) io.stdout(`UNASKED ${line}\n`);
  if (r.unasked.length > 0)
    io.stdout(`${r.unasked.length} attestation(s) could not be asked: check the RPC endpoint and run again\n`);
  if (r.unrecordedCorrections.length > 0) {
    const grams = r.unrecordedCorrections.reduce((s, u) => s + u.fossilCo2eGrams, 0n);
    io.stdout(
      `${r.unrecordedCorrections.length} correction batch(es) not recorded, ${grams} g that count against nothing yet: anyone may call recordCorrection(header) (headers: --json), or record them at /audit/project/${projectId}\n`,
    );
  }
  if (r.unrecorded.length > 0) {
    const total = r.unrecorded.reduce((s, u) => s + u.excessGrams, 0n);
    io.stdout(
      `${r.unrecorded.length} period(s) above the baseline not recorded, ${total} g the project does not owe yet: anyone may call recordShortfall(${projectId}, header) (headers: --json), or record them with a wallet at the web app's /audit/project/${projectId}\n`,
    );
  } else if (!failed) {
    io.stdout(
      `nothing to record: no period of project ${projectId} is above its baseline and unrecorded, and no correction is unrecorded\n`,
    );
  }
  return failed ? EXIT_FAIL : EXIT_OK;
}
