#!/usr/bin/env node
/**
 * `carbonproof` — the CarbonProof command line: emissions, device keys and signatures,
 * factor sets, and the auditor's chain-of-custody verifier.
 */
import { bundleCommand } from "./commands/bundle.ts";
import { deviceCommand } from "./commands/device.ts";
import { emissionsCommand } from "./commands/emissions.ts";
import { factorsCommand } from "./commands/factors.ts";
import { shortfallsCommand } from "./commands/shortfalls.ts";
import { verifyCommand } from "./commands/verify.ts";
import { CliError, EXIT_FAIL, EXIT_OK, EXIT_USAGE, describeError, processIo, type Io } from "./io.ts";

export const MAIN_HELP = `Usage: carbonproof <command> [options]

Commands:
  emissions [FILE|-]            emissions of activity records (flue gas, electricity, fuel, spend)
  device keygen|sign|sign-csv|verify
                                P-256 device keys, signed reading envelopes, signed CSV rows
  factors import|show           factor sets (EPA spend CSV import, built-in IPCC/Ember set)
  bundle build|cid|check        evidence bundles: build from envelopes, CID, offline re-check
  verify                        re-check an attestation's chain of custody against the chain
  shortfalls                    a project's periods above its baseline that nobody has recorded

Every command takes --help. Exit status: 0 success, 1 a check failed, 2 bad input.
`;

export async function run(io: Io, argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        io.stderr(MAIN_HELP);
        return EXIT_USAGE;
      case "--help":
      case "-h":
      case "help":
        io.stdout(MAIN_HELP);
        return EXIT_OK;
      case "emissions":
        return emissionsCommand(io, rest);
      case "device":
        return await deviceCommand(io, rest);
      case "factors":
        return factorsCommand(io, rest);
      case "bundle":
        return await bundleCommand(io, rest);
      case "verify":
        return await verifyCommand(io, rest);
      case "shortfalls":
        return await shortfallsCommand(io, rest);
      default:
        io.stderr(`Unknown command ${JSON.stringify(command)}.\n\n${MAIN_HELP}`);
        return EXIT_USAGE;
    }
  } catch (error) {
    if (error instanceof CliError) {
      io.stderr(`carbonproof: ${error.message}\n`);
      return error.exitCode;
    }
    // parseArgs reports unknown options and missing values as TypeErrors with a code.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`carbonproof: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`carbonproof: ${describeError(error)}\n`);
    return EXIT_FAIL;
  }
}

process.exitCode = await run(processIo, process.argv.slice(2));
