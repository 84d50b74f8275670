import assert from "node:assert/strict";
import { createPublicKey, verify as nodeVerify } from "node:crypto";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { bundleCid, decodeBundle, encodeBundle } from "../bundle/bundle.ts";
import { canonicalBytes } from "../reading/canonical.ts";
import { protocolExampleReading } from "../test/fixtures.ts";
import { cli, cliAsync, tmp, BUNDLE_BUILD, signedEnvelopes } from "../test/cli.ts";

const FIXTURE_CSV = fileURLToPath(new URL("../../test-fixtures/epa-supply-chain-FIXTURE.csv", import.meta.url));

test("every command has --help", () => {
  for (const args of [
    ["--help"],
    ["emissions", "--help"],
    ["device", "--help"],
    ["device", "keygen", "--help"],
    ["device", "sign", "--help"],
    ["device", "sign-csv", "--help"],
    ["device", "verify", "--help"],
    ["factors", "--help"],
    ["factors", "import", "--help"],
    ["factors", "show", "--help"],
    ["verify", "--help"],
    ["bundle", "--help"],
    ["bundle", "build", "--help"],
    ["bundle", "cid", "--help"],
    ["bundle", "check", "--help"],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 0, args.join(" "));
    assert.match(r.stdout, /Usage: carbonproof/, args.join(" "));
  }
});

test("emissions --json: the flue-gas known answer and IPCC diesel, from stdin", () => {
  const input = JSON.stringify([
    {
      kind: "flue-gas",
      co2Ppm: 41000,
      velocityMmS: 6200,
      tempCentiC: 18550,
      pressurePa: 101325,
      ductDiameterMm: 600,
      durationS: 5,
    },
    { kind: "fuel", fuel: "diesel", massKg: 1000 },
    { kind: "electricity", energyWh: 2000, gridGramsPerKwh: 100.5 },
    { kind: "fuel", fuel: "firewood", energyGj: 15.6 },
  ]);
  const r = cli(["emissions", "--json", "-"], input);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.length, 4);
  assert.equal(out[0].co2eGrams, 420.228);
  assert.equal(out[1].fossilCo2Grams, 3186300);
  assert.equal(out[1].ch4Grams, 129);
  assert.equal(out[1].n2oGrams, 25.8);
  assert.equal(out[1].co2eGrams, 3197187.6);
  assert.equal(out[2].co2eGrams, 201);
  assert.equal(out[2].fossilCo2Grams, null);
  // 15.6 GJ of wood = 1000 kg at NCV 15.6: CO2 1747.2 kg biogenic
  assert.equal(out[3].biogenicCo2Grams, 1747200);
  for (const o of out) {
    assert.match(o.factorSetId, /^0x[0-9a-f]{64}$/);
    assert.ok(o.citations.length > 0);
  }
});

test("emissions: bad input exits 2 naming record index, field and expectation, nothing on stdout", () => {
  const cases: [unknown, RegExp][] = [
    [[{ kind: "steam" }], /record 0: field "kind": expected one of/],
    [
      [
        { kind: "fuel", fuel: "diesel", massKg: 1 },
        { kind: "fuel", fuel: "unobtainium", massKg: 1 },
      ],
      /record 1: field "fuel": Unknown fuel/,
    ],
    [[{ kind: "fuel", fuel: "diesel", massKg: -5 }], /record 0: field "massKg": expected a number ≥ 0/],
    [[{ kind: "fuel", fuel: "diesel", massKg: "5" }], /record 0: field "massKg": expected a number/],
    [
      [
        {
          kind: "flue-gas",
          co2Ppm: 41000.5,
          velocityMmS: 1,
          tempCentiC: 1,
          pressurePa: 1,
          ductDiameterMm: 1,
          durationS: 1,
        },
      ],
      /record 0: field "co2Ppm": expected an integer/,
    ],
    [
      [{ kind: "flue-gas", co2Ppm: 1, velocityMmS: 1, tempCentiC: 1, pressurePa: 1, ductDiameterMm: 1 }],
      /record 0: field "durationS": missing/,
    ],
    [
      [{ kind: "electricity", energyWh: 1, country: "KEN", year: 2024.5 }],
      /record 0: field "year": expected an integer year/,
    ],
    [[{ kind: "electricity", energyWh: 1, country: "XXX", year: 2024 }], /record 0: field "country": No grid factor/],
    [
      [{ kind: "spend", category: "111111", amount: 10, currency: "USD" }],
      /record 0: field "category": no spend factors/,
    ],
    [[{ kind: "fuel", fuel: "diesel", litres: 10 }], /record 0: field "litres": No density for fuel "diesel"/],
    [[{ kind: "fuel", fuel: "diesel", litres: 10, densityKgPerM3: 840 }], /record 0: field "densitySource": expected/],
    [{ kind: "fuel" }, /expected a JSON array/],
  ];
  for (const [input, message] of cases) {
    const r = cli(["emissions", "--json"], JSON.stringify(input));
    assert.equal(r.code, 2, JSON.stringify(input));
    assert.equal(r.stdout, "", JSON.stringify(input));
    assert.match(r.stderr, message);
  }
  const notJson = cli(["emissions"], "[{");
  assert.equal(notJson.code, 2);
  assert.equal(notJson.stdout, "");
});

test("device keygen (0600), sign, verify; node:crypto reads the key and checks the signature", () => {
  const dir = tmp();
  const key = join(dir, "device.pem");
  const pub = join(dir, "device.pub.pem");
  const gen = cli(["device", "keygen", "--out", key, "--pub", pub, "--json"]);
  assert.equal(gen.code, 0, gen.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.equal(cli(["device", "keygen", "--out", key]).code, 2, "refuses to overwrite");
  const info = JSON.parse(gen.stdout);
  assert.match(info.x, /^0x[0-9a-f]{64}$/);

  const readingFile = join(dir, "reading.json");
  writeFileSync(readingFile, JSON.stringify(protocolExampleReading));
  const signed = cli(["device", "sign", "--key", key, "--key-id", "k1", readingFile]);
  assert.equal(signed.code, 0, signed.stderr);
  const envelope = JSON.parse(signed.stdout);
  assert.equal(envelope.keyId, "k1");
  assert.equal(
    nodeVerify(
      "sha256",
      canonicalBytes(protocolExampleReading),
      { key: createPublicKey(readFileSync(pub)), dsaEncoding: "ieee-p1363" },
      Buffer.from(envelope.sig.slice(2), "hex"),
    ),
    true,
  );
  const envFile = join(dir, "envelope.json");
  writeFileSync(envFile, signed.stdout);
  const ok = cli(["device", "verify", envFile, "--pub", pub]);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /^PASS signature/);
  assert.equal(cli(["device", "verify", envFile, "--x", info.x, "--y", info.y]).code, 0);

  const tampered = { ...envelope, reading: { ...envelope.reading, seq: 43 } };
  const bad = cli(["device", "verify", "-", "--key", key], JSON.stringify(tampered));
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^FAIL signature/);

  const invalid = cli(["device", "sign", "--key", key, "-"], JSON.stringify({ ...protocolExampleReading, seq: 1.5 }));
  assert.equal(invalid.code, 2);
  assert.match(invalid.stderr, /seq/);
});

test("factors import (EPA columns, FIXTURE csv) then emissions --factors computes spend; show prints the id", () => {
  const dir = tmp();
  const out = join(dir, "factors.json");
  const imported = cli(["factors", "import", FIXTURE_CSV, "--out", out]);
  assert.equal(imported.code, 0, imported.stderr);
  const set = JSON.parse(readFileSync(out, "utf8"));
  assert.match(set.id, /^0x[0-9a-f]{64}$/);
  const r = cli(
    ["emissions", "--json", "--factors", out],
    JSON.stringify([{ kind: "spend", category: "222222", amount: 1000, currency: "USD" }]),
  );
  assert.equal(r.code, 0, r.stderr);
  const [res] = JSON.parse(r.stdout);
  // FIXTURE factor 0.500 kg/USD × 1000 USD = 500 kg
  assert.equal(res.co2eGrams, 500000);
  assert.equal(res.factorSetId, set.id);
  const show = cli(["factors", "show", "--factors", out]);
  assert.equal(show.code, 0);
  assert.match(show.stdout, new RegExp(`id +${set.id}`));
  assert.match(show.stdout, /spend +3 categories/);
  const builtin = cli(["factors", "show", "--json", "--gwp", "AR5"]);
  assert.equal(JSON.parse(builtin.stdout).content.gwp.ch4Fossil, "28");
});

test("unknown commands and options exit 2", () => {
  assert.equal(cli(["frobnicate"]).code, 2);
  assert.equal(cli(["emissions", "--nope"], "[]").code, 2);
  assert.equal(cli([]).code, 2);
});

test("bundle build → cid → check: same CID as the sdk, offline checks pass, tampering fails", () => {
  const dir = tmp();
  const { pub, file: envFile } = signedEnvelopes(dir);
  const context = join(dir, "context.json");
  writeFileSync(context, JSON.stringify({ flueGasBiogenicShareBp: 10000 }));
  const out = join(dir, "bundle.json");
  const built = cli([...BUNDLE_BUILD, "--context", context, "--out", out, envFile]);
  assert.equal(built.code, 0, built.stderr);
  const cid = /CID (\S+)/.exec(built.stdout)![1]!;
  const bytes = readFileSync(out);
  assert.equal(cid, bundleCid(new Uint8Array(bytes)));
  assert.equal(decodeBundle(new Uint8Array(bytes)).totals.biogenicCo2Grams, "1260"); // 3 × 420228 mg, floored once

  const shown = cli(["bundle", "cid", out]);
  assert.equal(shown.stdout.trim(), cid);
  assert.match(shown.stderr, /canonical bundle format 1/);

  const checked = cli(["bundle", "check", out, "--pub", `kangaita-chimney-1=${pub}`]);
  assert.equal(checked.code, 0, checked.stdout);
  assert.match(checked.stdout, /^PASS device signatures/m);

  // without --pub the signatures are a SKIP that says how to check them, not a silent omission
  const unsigned = cli(["bundle", "check", out]);
  assert.equal(unsigned.code, 0, unsigned.stdout);
  assert.match(unsigned.stdout, /^PASS bundle format: carbonproof.bundle\/1, canonical, 3 readings$/m);
  assert.match(unsigned.stdout, /^SKIP device signatures: not checked: give --pub DEVICE=PUB.pem$/m);
  assert.doesNotMatch(unsigned.stdout, /^PASS device signatures/m);
  const unsignedJson = JSON.parse(cli(["bundle", "check", out, "--json"]).stdout);
  assert.equal(unsignedJson.ok, true);
  assert.equal(unsignedJson.cid, cid);
  assert.deepEqual(
    unsignedJson.checks.find((c: { link: string }) => c.link === "device signatures"),
    { link: "device signatures", ok: true, skipped: true, detail: "not checked: give --pub DEVICE=PUB.pem" },
  );

  // a file that is not a valid bundle FAILs its format link (exit 1), as in `verify`; not bad input
  const pretty = join(dir, "pretty.json");
  writeFileSync(pretty, JSON.stringify(JSON.parse(bytes.toString("utf8")), null, 2));
  const garbage = join(dir, "garbage.json");
  writeFileSync(garbage, "not json");
  for (const [file, why] of [
    [pretty, /not in canonical form/],
    [garbage, /not UTF-8 JSON/],
  ] as const) {
    const r = cli(["bundle", "check", file]);
    assert.equal(r.code, 1, r.stderr);
    assert.equal(r.stdout.trim().split("\n").length, 1, r.stdout);
    assert.match(r.stdout, /^FAIL bundle format: /);
    assert.match(r.stdout, why);
    const json = cli(["bundle", "check", file, "--json"]);
    assert.equal(json.code, 1);
    const report = JSON.parse(json.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.cid, bundleCid(new Uint8Array(readFileSync(file))));
    assert.equal(report.checks[0].link, "bundle format");
  }

  const tampered = JSON.parse(bytes.toString("utf8"));
  tampered.readings[0].result.biogenicCo2Mg = "1";
  const bad = join(dir, "bad.json");
  writeFileSync(bad, encodeBundle(tampered));
  const failed = cli(["bundle", "check", bad]);
  assert.equal(failed.code, 1);
  assert.match(failed.stdout, /^FAIL per-reading emissions recomputed/m);

  const outside = cli([...BUNDLE_BUILD.slice(0, 6), "--end", "1763900001", envFile]);
  assert.equal(outside.code, 2);
  assert.match(outside.stderr, /outside/);
});

test("emissions: litres with a cited density convert through mass (10 L × 840 kg/m³ = 8.4 kg diesel)", () => {
  const input = [
    { kind: "fuel", fuel: "diesel", litres: 10, densityKgPerM3: 840, densitySource: "supplier datasheet" },
  ];
  const r = cli(["emissions", "--json"], JSON.stringify(input));
  assert.equal(r.code, 0, r.stderr);
  const [out] = JSON.parse(r.stdout);
  // 8400 g × 43.0 kJ/g = 361,200 kJ; × 74100 kg/TJ / 1000 = 26,764,920 mg CO2
  assert.equal(out.fossilCo2Grams, 26764.92);
  assert.ok(out.citations.some((c: string) => c.includes("density 840 kg/m³: supplier datasheet")));
});

/** A CSV of one reading of each kind, unsigned, as an ERP export might give them. */
test("bundle cid and bundle check: a missing file or a directory is a usage error naming it and why", () => {
  const dir = tmp();
  for (const sub of ["cid", "check"]) {
    const missing = cli(["bundle", sub, join(dir, "none.json")]);
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /^carbonproof: Cannot read \S+none\.json: ENOENT: /m);
    const directory = cli(["bundle", sub, dir]);
    assert.equal(directory.code, 2, directory.stderr);
    assert.match(directory.stderr, /^carbonproof: Cannot read \S+: EISDIR: /m);
  }
});

const ATTESTATION = `0x${"ab".repeat(32)}`;

test("an RPC that cannot be reached exits 3 (could not complete), names it without its path, --json says why", async () => {
  // a port nothing listens on: the server is closed before the CLI runs
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  const rpc = `http://127.0.0.1:${port}/v2/SECRET-API-KEY`;
  const bundle = join(tmp(), "bundle.json");
  writeFileSync(bundle, "{}");
  for (const args of [
    ["verify", "--rpc", rpc, "--attestation", ATTESTATION, "--bundle", bundle],
    ["shortfalls", "--rpc", rpc, "--project", "1"],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 3, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `carbonproof: cannot reach the RPC at http://127.0.0.1:${port}/…: check --rpc (connect ECONNREFUSED 127.0.0.1:${port})\n`,
    );
    const json = cli([...args, "--json"]);
    assert.equal(json.code, 3);
    assert.deepEqual(JSON.parse(json.stdout), {
      ok: false,
      error: {
        code: "RPC_UNREACHABLE",
        message: `cannot reach the RPC at http://127.0.0.1:${port}/…: check --rpc (connect ECONNREFUSED 127.0.0.1:${port})`,
      },
    });
    assert.doesNotMatch(json.stdout + json.stderr, /SECRET-API-KEY|eth_chainId|viem@/);
  }
});

test("an RPC that answers an HTTP error exits 3 with the status, not 1 (no link was checked)", async () => {
  const bundle = join(tmp(), "bundle.json");
  writeFileSync(bundle, "{}");
  const server = createServer((_req, res) => res.writeHead(401).end("unauthorized"));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  try {
    const r = await cliAsync([
      "verify",
      "--rpc",
      `http://127.0.0.1:${port}/v2/SECRET-API-KEY`,
      "--attestation",
      ATTESTATION,
      "--bundle",
      bundle,
      "--json",
    ]);
    assert.equal(r.code, 3, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout).error, {
      code: "RPC_ERROR",
      message: `the RPC at http://127.0.0.1:${port}/… answered HTTP 401: check --rpc`,
    });
    assert.doesNotMatch(r.stdout + r.stderr, /SECRET-API-KEY/);
  } finally {
    server.close();
  }
});

test("a run that could not complete does not print a URL with a key that an error quotes, configured or not", async () => {
  // an RPC whose chain id is a URL with a key: viem's error quotes it (as a provider's redirect or a library's error would)
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => (body += c.toString()));
    req.on("end", () => {
      const { id } = JSON.parse(body) as { id: number };
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ jsonrpc: "2.0", id, result: "https://user:pw@other.example/v2/SECRET-KEY" }));
    });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const bundle = join(tmp(), "bundle.json");
  writeFileSync(bundle, "{}");
  try {
    const rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v2/SECRET-API-KEY`;
    const r = await cliAsync(["verify", "--rpc", rpc, "--attestation", ATTESTATION, "--bundle", bundle, "--json"]);
    assert.equal(r.code, 3, r.stderr);
    assert.match(JSON.parse(r.stdout).error.message, /^could not complete: .*https:\/\/other\.example\/…/);
    assert.doesNotMatch(r.stdout + r.stderr, /SECRET|user:pw/);
  } finally {
    server.close();
  }
});

test("verify: bad flags and a --bundle that is not there exit 2 before the RPC is asked anything", async () => {
  let asked = 0;
  const server = createServer((_req, res) => (asked++, res.writeHead(500).end()));
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const rpc = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const bundle = join(tmp(), "bundle.json");
  writeFileSync(bundle, "{}");
  try {
    const verify = ["verify", "--registry", `0x${"11".repeat(20)}`, "--attestation", ATTESTATION];
    const cases: [string[], RegExp][] = [
      [["--rpc", "localhost:8545", "--bundle", bundle], /^carbonproof: --rpc must be an http:\/\/ or https:\/\/ URL/],
      [
        ["--rpc", rpc, "--bundle", join(tmp(), "typo.json")],
        /^carbonproof: Cannot read \S+typo\.json: no such file or folder/,
      ],
      [
        ["--rpc", rpc, "--bundle", bundle, "--from-block", "abc"],
        /^carbonproof: --from-block must be a non-negative integer/,
      ],
      [["--rpc", rpc, "--bundle", bundle, "--log-range", "0"], /^carbonproof: --log-range must be a whole number/],
      [["--rpc", rpc, "--bundle", bundle, "--onchain-proofs", "x"], /^carbonproof: --onchain-proofs must be/],
    ];
    for (const [args, message] of cases) {
      const r = await cliAsync([...verify, ...args]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message);
    }
    assert.equal(asked, 0, "no RPC call for bad input");
  } finally {
    server.close();
  }
});

test("verify: an RPC out of reach while the addresses are read from each other exits 3 (RPC_UNREACHABLE), not 2", async () => {
  const server = createServer().listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, "close");
  const bundle = join(tmp(), "bundle.json");
  writeFileSync(bundle, "{}");
  const r = cli([
    "verify",
    "--rpc",
    `http://127.0.0.1:${port}`,
    "--registry",
    `0x${"11".repeat(20)}`,
    "--credits",
    `0x${"22".repeat(20)}`,
    "--retirement",
    "1",
    "--bundle",
    bundle,
    "--json",
  ]);
  assert.equal(r.code, 3, r.stderr);
  assert.equal(JSON.parse(r.stdout).error.code, "RPC_UNREACHABLE");
  assert.match(r.stderr, /^carbonproof: cannot reach the RPC at http:\/\/127\.0\.0\.1:\d+: check --rpc/);
});

test("device keygen: a --pub that exists refuses before the key is written; a key written is 0600 from its first byte; a missing folder is exit 2", () => {
  const dir = tmp();
  const key = join(dir, "k.pem");
  const pub = join(dir, "p.pem");
  writeFileSync(pub, "taken");
  const refused = cli(["device", "keygen", "--out", key, "--pub", pub]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /p\.pem exists; pass --force to overwrite/);
  assert.equal(existsSync(key), false, "no key left behind");
  // --force over a world-readable file: the key replaces it with mode 0600
  writeFileSync(key, "old", { mode: 0o644 });
  const forced = cli(["device", "keygen", "--out", key, "--pub", pub, "--force"]);
  assert.equal(forced.code, 0, forced.stderr);
  assert.equal(statSync(key).mode & 0o777, 0o600);
  assert.match(readFileSync(key, "utf8"), /^-----BEGIN PRIVATE KEY-----/);
  assert.deepEqual(readdirSync(dir).sort(), ["k.pem", "p.pem"], "no temp file left");
  for (const args of [
    ["device", "keygen", "--out", join(dir, "none", "k.pem")],
    ["factors", "import", FIXTURE_CSV, "--out", join(dir, "none", "factors.json")],
  ]) {
    const r = cli(args);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, /Cannot write \S+none\S+: /);
  }
});

test("--help lists the exit codes: 0, 1 FAIL, 2 bad input, 3 could not complete", () => {
  const help = cli(["--help"]).stdout;
  for (const line of [/0 success/, /1 a check FAILs/, /2 bad command-line input/, /3 the run could not complete/])
    assert.match(help, line);
});
