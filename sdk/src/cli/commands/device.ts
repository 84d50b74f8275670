import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { SdkError } from "../../errors.ts";
import { parseEnvelope, parseReading } from "../../reading/parse.ts";
import { readingDigestHex } from "../../reading/digest.ts";
import {
  generateDeviceKey,
  publicKeyFromPem,
  publicKeyFromXY,
  publicKeyOf,
  publicKeyToPem,
  publicKeyToXY,
  secretKeyFromPem,
  secretKeyToPem,
  signReading,
  verifyEnvelope,
} from "../../reading/sign.ts";
import { bytesToHex } from "../../hex.ts";
import { CliError, EXIT_FAIL, EXIT_OK, EXIT_USAGE, parseJson, readInput, toJson, type Io } from "../io.ts";

export const DEVICE_HELP = `Usage: carbonproof device <keygen|sign|verify> [options]

  keygen   make a P-256 key pair (PKCS#8 PEM, file mode 0600)
  sign     sign a reading file into an envelope
  verify   verify an envelope's signature

Run \`carbonproof device <command> --help\` for each command's options.
`;

const KEYGEN_HELP = `Usage: carbonproof device keygen --out KEY.pem [--pub PUB.pem] [--force] [--json]

Makes a P-256 key pair. Writes the private key as PKCS#8 PEM to KEY.pem with file mode
0600 (and the public key as SPKI PEM to PUB.pem when given). Prints the public key:
uncompressed hex and (x, y) as bytes32 for DeviceRegistry. Refuses to overwrite unless
--force.
`;

const SIGN_HELP = `Usage: carbonproof device sign --key KEY.pem [READING.json|-] [--key-id ID]

Validates the reading (reading v1, docs/protocol.md), signs SHA-256 of its canonical
bytes with P-256 (RFC 6979, low-s) and prints the envelope {reading, sig[, keyId]}.
`;

const VERIFY_HELP = `Usage: carbonproof device verify [ENVELOPE.json|-] (--pub PUB.pem | --key KEY.pem | --x HEX --y HEX)

Checks the envelope's schema and its P-256 signature (low-s) against the public key.
Prints PASS or FAIL with the reason. Exit 0 on PASS, 1 on FAIL, 2 on bad input.
`;

function writeNew(path: string, text: string, mode: number, force: boolean): void {
  if (existsSync(path) && !force) throw new CliError(`${path} exists; pass --force to overwrite.`);
  writeFileSync(path, text, { mode });
  chmodSync(path, mode); // the mode of writeFileSync applies only when it creates the file
}

function readPem(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (cause) {
    throw new CliError(`Cannot read ${path}: ${(cause as Error).message}`, EXIT_USAGE, { cause });
  }
}

function asCliError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SdkError) throw new CliError(error.message, EXIT_USAGE, { cause: error });
    throw error;
  }
}

export function deviceCommand(io: Io, argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === "--help" || sub === "-h") {
    io.stdout(DEVICE_HELP);
    return sub === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (sub === "keygen") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        out: { type: "string" },
        pub: { type: "string" },
        force: { type: "boolean" },
        json: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(KEYGEN_HELP), EXIT_OK);
    if (positionals.length > 0 || values.out === undefined)
      throw new CliError("keygen needs --out KEY.pem (and nothing else).");
    const key = generateDeviceKey();
    writeNew(values.out, secretKeyToPem(key.secretKey), 0o600, values.force ?? false);
    if (values.pub !== undefined) writeNew(values.pub, publicKeyToPem(key.publicKey), 0o644, values.force ?? false);
    const info = { privateKeyFile: values.out, publicKey: bytesToHex(key.publicKey), ...publicKeyToXY(key.publicKey) };
    io.stdout(
      values.json
        ? `${toJson(info)}\n`
        : `wrote ${values.out} (mode 0600)\npublicKey ${info.publicKey}\nx ${info.x}\ny ${info.y}\n`,
    );
    return EXIT_OK;
  }
  if (sub === "sign") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { key: { type: "string" }, "key-id": { type: "string" }, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(SIGN_HELP), EXIT_OK);
    if (values.key === undefined) throw new CliError("sign needs --key KEY.pem.");
    if (positionals.length > 1) throw new CliError("sign takes at most one READING file.");
    const secretKey = asCliError(() => secretKeyFromPem(readPem(values.key!)));
    const { text, name } = readInput(io, positionals[0]);
    const reading = asCliError(() => parseReading(parseJson(text, name)));
    io.stdout(`${toJson(signReading(reading, secretKey, values["key-id"]))}\n`);
    return EXIT_OK;
  }
  if (sub === "verify") {
    const { values, positionals } = parseArgs({
      args: rest,
      options: {
        pub: { type: "string" },
        key: { type: "string" },
        x: { type: "string" },
        y: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      allowPositionals: true,
    });
    if (values.help) return (io.stdout(VERIFY_HELP), EXIT_OK);
    if (positionals.length > 1) throw new CliError("verify takes at most one ENVELOPE file.");
    const given = [values.pub, values.key, values.x ?? values.y].filter((v) => v !== undefined).length;
    if (given !== 1)
      throw new CliError("verify needs exactly one of --pub PUB.pem, --key KEY.pem, or --x HEX --y HEX.");
    const publicKey = asCliError(() => {
      if (values.pub !== undefined) return publicKeyFromPem(readPem(values.pub));
      if (values.key !== undefined) return publicKeyOf(secretKeyFromPem(readPem(values.key)));
      if (values.x === undefined || values.y === undefined) throw new CliError("--x and --y go together.");
      return publicKeyFromXY(values.x as `0x${string}`, values.y as `0x${string}`);
    });
    const { text, name } = readInput(io, positionals[0]);
    const envelope = asCliError(() => parseEnvelope(parseJson(text, name)));
    const digest = readingDigestHex(envelope.reading);
    if (verifyEnvelope(envelope, publicKey)) {
      io.stdout(`PASS signature: ${envelope.reading.deviceId} seq ${envelope.reading.seq} digest ${digest}\n`);
      return EXIT_OK;
    }
    io.stdout(
      `FAIL signature: ${envelope.reading.deviceId} seq ${envelope.reading.seq} digest ${digest}: not a valid low-s P-256 signature by this key\n`,
    );
    return EXIT_FAIL;
  }
  throw new CliError(`Unknown device command ${JSON.stringify(sub)}.\n\n${DEVICE_HELP}`);
}
