import { parseArgs } from "node:util";
import { buildBundle, bundleCid, decodeBundle, encodeBundle } from "../../bundle/bundle.ts";
import { checkBundle, type LinkCheck } from "../../bundle/check.ts";
import { facilityContextSchema, type Bundle } from "../../bundle/schema.ts";
import { SdkError } from "../../errors.ts";
import { METHODOLOGY_ID } from "../../methodology/methodologyId.ts";
import { parseEnvelope } from "../../reading/parse.ts";
import { publicKeyFromPem } from "../../reading/sign.ts";
import {
  CliError,
  EXIT_FAIL,
  EXIT_OK,
  EXIT_USAGE,
  parseJson,
  readFileBytes,
  readInput,
  stdoutAfterWriting,
  toJson,
  type Io,
  writeFileWhole,
} from "../io.ts";
import { FACTOR_OPTIONS, FACTOR_OPTIONS_HELP, loadFactorSet } from "./factorSetOption.ts";

export const BUNDLE_HELP = `Usage: carbonproof bundle <build|cid|check> [options]

  build   make the evidence bundle (docs/bundle.md) of a batch from signed envelopes
  cid     print the CID (CIDv1 raw sha2-256) of a bundle file's bytes
  check   re-check a bundle offline: factor-set id, digests, membership, root, results, totals, signatures

Run \`carbonproof bundle <command> --help\` for each command's options.
`;

const BUILD_HELP = `Usage: carbonproof bundle build --facility ID --start S --end E [ENVELOPES.json|-] [--out FILE]
                               [--context FILE] [--correction-of ID] [--factors FILE | --gwp AR5|AR6 --sector S]

Reads a JSON array of signed envelopes, computes every result, the Merkle tree and the
totals, and writes the canonical bundle bytes (to FILE, or stdout). Prints the CID on
stderr. The same batch always gives the same bytes and CID.

Options:
  --facility ID          facility id of the batch
  --start S, --end E     period [S, E) in unix seconds
  --context FILE         facility context JSON: {"country":"KEN","flueGasBiogenicShareBp":10000,…}
  --correction-of ID     bytes32 id of the attestation this batch corrects
  --out FILE             write the bundle to FILE
${FACTOR_OPTIONS_HELP}
`;

const CID_HELP = `Usage: carbonproof bundle cid FILE

Prints the CID of FILE's bytes as one raw IPFS block (what \`ipfs block put --cid-codec raw\`
and Helia's blockstore give), and whether the bytes are a canonical format-1 bundle.
`;

const CHECK_HELP = `Usage: carbonproof bundle check FILE [--pub DEVICE=PUB.pem ...] [--json]

Re-checks a bundle with no chain: that it is a canonical format-1 bundle, factor-set id,
each reading digest, facility and period of each reading, the Merkle root and count, the
methodology id, each result and the totals recomputed with the bundle's factor set and
context; with --pub keys, each device signature (without them that line is a SKIP).
One line per link, PASS, FAIL or SKIP (not checked, and why).

Exit status: 0 no link FAILs; 1 a link FAILs (a file that is not a valid, canonical
bundle FAILs the bundle format link); 2 bad input (FILE or a --pub key cannot be read).
`;

/** The line of a link as `bundle check` and `verify` print it. */
function checkLine(c: LinkCheck): string {
  return `${c.skipped ? "SKIP" : c.ok ? "PASS" : "FAIL"} ${c.link}: ${c.detail}`;
}

function asUsage<T>(name: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SdkError) throw new CliError(`${name}: ${error.message}`, EXIT_USAGE, { cause: error });
    throw error;
  }
}

function integer(value: string | undefined, flag: string): number {
  if (value === undefined || !/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new CliError(`${flag} needs a non-negative integer (unix seconds).`);
  }
  return Number(value);
}

export async function bundleCommand(io: Io, argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(BUNDLE_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (sub === "build") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        facility: { type: "string" },
        start: { type: "string" },
        end: { type: "string" },
        context: { type: "string" },
        "correction-of": { type: "string" },
        out: { type: "string" },
        help: { type: "boolean", short: "h" },
        ...FACTOR_OPTIONS,
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(BUILD_HELP), EXIT_OK);
    if (positionals.length > 1) throw new CliError("bundle build takes at most one ENVELOPES file.");
    if (!values.facility) throw new CliError("bundle build needs --facility ID.");
    const periodStart = integer(values.start, "--start");
    const periodEnd = integer(values.end, "--end");
    const correctionOf = values["correction-of"];
    if (correctionOf !== undefined && !/^0x[0-9a-f]{64}$/.test(correctionOf)) {
      throw new CliError("--correction-of must be 0x + 64 lowercase hex characters.");
    }
    const factorSet = loadFactorSet(io, values);
    let facilityContext = {};
    if (values.context !== undefined) {
      const { text, name } = readInput(io, values.context);
      const parsed = facilityContextSchema.safeParse(parseJson(text, name));
      if (!parsed.success) throw new CliError(`${name}: not a facility context: ${parsed.error.message}`);
      facilityContext = parsed.data;
    }
    const { text, name } = readInput(io, positionals[0]);
    const input = parseJson(text, name);
    if (!Array.isArray(input)) throw new CliError(`${name}: expected a JSON array of envelopes.`);
    const envelopes = input.map((e, i) => asUsage(`${name} [${i}]`, () => parseEnvelope(e)));
    const bundle = asUsage(name, () =>
      buildBundle({
        facilityId: values.facility!,
        periodStart,
        periodEnd,
        envelopes,
        factorSet,
        facilityContext,
        methodologyId: METHODOLOGY_ID,
        ...(correctionOf ? { correctionOf: correctionOf as `0x${string}` } : {}),
      }),
    );
    const bytes = encodeBundle(bundle);
    const cid = bundleCid(bytes);
    if (values.out !== undefined) {
      writeFileWhole(values.out, bytes);
      stdoutAfterWriting(io, `wrote ${values.out}: ${bytes.length} bytes, CID ${cid}\n`, [values.out]);
    } else {
      io.stdout(new TextDecoder().decode(bytes));
      io.stderr(`CID ${cid}\n`);
    }
    return EXIT_OK;
  }
  if (sub === "cid") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(CID_HELP), EXIT_OK);
    if (positionals.length !== 1) throw new CliError("bundle cid needs exactly one FILE.");
    const file = positionals[0]!;
    const bytes = readFileBytes(file);
    let note = "canonical bundle format 1";
    try {
      decodeBundle(bytes);
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      note = `not a canonical format-1 bundle: ${error.message.split("\n")[0]}`;
    }
    io.stdout(`${bundleCid(bytes)}\n`);
    io.stderr(`${note}\n`);
    return EXIT_OK;
  }
  if (sub === "check") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        pub: { type: "string", multiple: true },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(CHECK_HELP), EXIT_OK);
    if (positionals.length !== 1) throw new CliError("bundle check needs exactly one FILE.");
    const file = positionals[0]!;
    const bytes = readFileBytes(file);
    const keys = new Map<string, Uint8Array>();
    for (const spec of values.pub ?? []) {
      const at = spec.indexOf("=");
      if (at < 1) throw new CliError(`--pub expects DEVICE=PUB.pem, got ${JSON.stringify(spec)}.`);
      const pem = readInput(io, spec.slice(at + 1)).text;
      keys.set(
        spec.slice(0, at),
        asUsage(spec, () => publicKeyFromPem(pem)),
      );
    }
    // A file that is not a valid bundle is evidence that fails its first link (as in `verify`),
    // not bad command-line input.
    const checks: LinkCheck[] = [];
    let bundle: Bundle | undefined;
    try {
      bundle = decodeBundle(bytes);
      checks.push({
        link: "bundle format",
        ok: true,
        detail: `${bundle.format}, canonical, ${bundle.readings.length} readings`,
      });
    } catch (error) {
      if (!(error instanceof SdkError)) throw error;
      checks.push({ link: "bundle format", ok: false, detail: error.message.split("\n")[0]! });
    }
    if (bundle) {
      checks.push(
        ...(await checkBundle(bundle, keys.size > 0 ? { publicKeyOf: async (d) => keys.get(d) ?? null } : {})),
      );
      if (keys.size === 0) {
        checks.push({
          link: "device signatures",
          ok: true,
          skipped: true,
          detail: "not checked: give --pub DEVICE=PUB.pem",
        });
      }
    }
    const ok = checks.every((c) => c.ok);
    if (values.json) io.stdout(`${toJson({ cid: bundleCid(bytes), ok, checks })}\n`);
    else io.stdout(`${checks.map(checkLine).join("\n")}\n`);
    return ok ? EXIT_OK : EXIT_FAIL;
  }
  throw new CliError(`Unknown bundle command ${JSON.stringify(sub)}.\n\n${BUNDLE_HELP}`);
}
