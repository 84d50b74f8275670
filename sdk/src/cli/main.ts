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
import { SdkError } from "../errors.ts";
import { scrubUrls, urlForMessages, urlScrubber } from "../urls.ts";
import {
  CliError,
  EXIT_INCOMPLETE,
  EXIT_OK,
  EXIT_USAGE,
  StdoutError,
  describeError,
  processIo,
  rpcTransportError,
  stdoutFailed,
  toJson,
  type Io,
} from "./io.ts";

export const MAIN_HELP = `Usage: carbonproof <command> [options]

Commands:
  emissions [FILE|-]            emissions of activity records (flue gas, electricity, fuel, spend)
  device keygen|sign|sign-csv|verify
                                P-256 device keys, signed reading envelopes, signed CSV rows
  factors import|show           factor sets (EPA spend CSV import, built-in IPCC/Ember set)
  bundle build|cid|check        evidence bundles: build from envelopes, CID, offline re-check
  verify                        re-check an attestation's chain of custody against the chain
  shortfalls                    a project's periods above its baseline that nobody has recorded

Every command takes --help.

Exit status: 0 success (no check FAILs; a SKIP line says what was not checked);
1 a check FAILs; 2 bad command-line input (usage, an unreadable or malformed file given as
an option); 3 the run could not complete (RPC or gateway unreachable or refusing, another
operational error): nothing was decided, run it again. Under --json a run that could not
complete prints {"ok":false,"error":{"code","message"}}. An output file (--out) at a path
that cannot be written is 2; one whose writing fails part-way (a full disk) is 3, and
nothing is put in place. A stdout that cannot be written (> onto a full disk) is 3 too; a
reader that stops early (| head) ends the run quietly with 141, as SIGPIPE ends cat.
`;

/** The value of `--name` in `argv` (`--name V` or `--name=V`; the last one), if any. */
function optionValue(argv: readonly string[], name: string): string | undefined {
  let value: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === name && i + 1 < argv.length) value = argv[i + 1];
    else if (arg.startsWith(`${name}=`)) value = arg.slice(name.length + 1);
  });
  return value;
}

/** `error` and its causes, outermost first. */
function causes(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && out.length < 10; e = (e as { cause?: unknown }).cause)
    out.push(e);
  return out;
}

/**
 * What a run that could not complete says: a code and one line, naming the RPC as
 * `urlForMessages` does (scheme, host and port, then `/…`: its path may hold an API key) and no
 * URL of the command line whole. viem's errors quote the URL and the request body over several
 * lines; only their first line is kept.
 */
function incompleteRun(error: unknown, argv: readonly string[]): { code: string; message: string } {
  const rpc = optionValue(argv, "--rpc");
  // the command line's URLs whole first, then any other URL an error quotes (a redirect's, a library's)
  const scrubGiven = urlScrubber([rpc, optionValue(argv, "--bundle")]);
  const scrub = (text: string) => scrubUrls(scrubGiven(text));
  const chain = causes(error);
  const firstLine = (e: unknown) =>
    String((e as { shortMessage?: unknown }).shortMessage ?? describeError(e)).split("\n")[0]!;
  const transport = rpcTransportError(error);
  if (rpc !== undefined && transport !== undefined) {
    const at = urlForMessages(rpc, "--rpc");
    const status = (transport as { status?: unknown }).status;
    if (typeof status === "number")
      return { code: "RPC_ERROR", message: `the RPC at ${at} answered HTTP ${status}: check --rpc` };
    const deepest = chain[chain.length - 1];
    const why =
      deepest instanceof Error && deepest !== transport ? deepest.message.split("\n")[0]! : firstLine(transport);
    return { code: "RPC_UNREACHABLE", message: `cannot reach the RPC at ${at}: check --rpc (${scrub(why)})` };
  }
  const code =
    error instanceof SdkError ? error.code : error instanceof Error && error.name !== "Error" ? error.name : "ERROR";
  return { code, message: `could not complete: ${scrub(firstLine(error))}` };
}

/** The command's exit code; what it throws is `run`'s to report. */
async function dispatch(io: Io, argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
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
}

export async function run(io: Io, argv: string[]): Promise<number> {
  try {
    const code = await dispatch(io, argv);
    // a write to a pipe fails after it returned (the reader gone): learnt before the code stands
    await io.stdoutFlushed?.();
    return code;
  } catch (thrown) {
    // every command's stdout fails alike: one line and exit 3, or quietly for a reader gone
    const error = thrown instanceof StdoutError ? stdoutFailed(thrown) : thrown;
    if (error instanceof CliError) {
      if (!error.quiet) io.stderr(`carbonproof: ${error.message}\n`);
      return error.exitCode;
    }
    // parseArgs reports unknown options and missing values as TypeErrors with a code.
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      io.stderr(`carbonproof: ${error.message}\n`);
      return EXIT_USAGE;
    }
    // Not a check that failed (1) nor bad input (2): the run could not decide anything.
    const problem = incompleteRun(error, argv);
    if (argv.includes("--json")) {
      try {
        io.stdout(`${toJson({ ok: false, error: problem })}\n`);
      } catch (cause) {
        // a stdout that fails as well: the line on stderr below is the report, and 3 stands
        if (!(cause instanceof StdoutError)) throw cause;
      }
    }
    io.stderr(`carbonproof: ${problem.message}\n`);
    return EXIT_INCOMPLETE;
  }
}

process.exitCode = await run(processIo, process.argv.slice(2));
