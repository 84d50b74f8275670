import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { defaultFactorSet } from "../../sdk/src/index.ts";
import { ConfigError, envName, envOverrides, loadConfig, loadFactorSetFile, parseConfig } from "../src/config/load.ts";
import { MAX_TIMER_MS, PATH_SETTINGS, settingsAt, type Config } from "../src/config/schema.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { evaluate } from "../src/validate/prepare.ts";
import { electricity, kenya500FactorSet, makeDevice } from "./fixtures.ts";
import { tempDir } from "./helpers.ts";

const tmp = tempDir("cp-config-");
after(() => tmp.cleanup());

/** Asserts that `fn` throws a ConfigError whose message matches every pattern. */
function throwsConfigError(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, `a ConfigError, got ${String(err)}`);
    for (const p of patterns) assert.match(err.message, p);
    return true;
  });
}

test("storage.driver: sqlite is accepted and the default; postgres with a postgres:// storage.url", () => {
  assert.equal(parseConfig({}).storage.driver, "sqlite");
  assert.equal(parseConfig({ storage: { driver: "sqlite" } }).storage.driver, "sqlite");
  const cfg = loadConfig({
    env: {
      CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres",
      CARBONPROOF_ORACLE__STORAGE__URL: "postgres://oracle:secret@127.0.0.1:5432/carbonproof",
    },
  });
  assert.deepEqual(
    [cfg.storage.driver, cfg.storage.url],
    ["postgres", "postgres://oracle:secret@127.0.0.1:5432/carbonproof"],
  );
});

test("ipfs.kuboUrl: an http(s) URL without user name or password (the Kubo RPC client cannot send them, and an error would quote them)", () => {
  assert.equal(parseConfig({ ipfs: { mode: "kubo" } }).ipfs.kuboUrl, "http://127.0.0.1:5001");
  assert.equal(
    parseConfig({ ipfs: { mode: "kubo", kuboUrl: "https://pin.example/k3y/" } }).ipfs.kuboUrl,
    "https://pin.example/k3y/",
  );
  throwsConfigError(
    () => parseConfig({ ipfs: { kuboUrl: "https://oracle:s3cret@pin.example" } }),
    /ipfs\.kuboUrl: must not hold a user name or password/,
  );
  for (const kuboUrl of ["pin.example:5001", "ftp://pin.example"])
    throwsConfigError(() => parseConfig({ ipfs: { kuboUrl } }), /ipfs\.kuboUrl: must be an http\(s\) URL/);
});

test("ipfs.networkSearches: 1 to 64 searches of the IPFS network at once, default 4; any other value refused, saying the range", () => {
  assert.equal(parseConfig({}).ipfs.networkSearches, 4);
  for (const n of [1, 64]) assert.equal(parseConfig({ ipfs: { networkSearches: n } }).ipfs.networkSearches, n);
  assert.equal(loadConfig({ env: { CARBONPROOF_ORACLE__IPFS__NETWORK_SEARCHES: "8" } }).ipfs.networkSearches, 8);
  for (const networkSearches of [0, 65, 1.5, -1, "4"])
    throwsConfigError(
      () => parseConfig({ ipfs: { networkSearches } }),
      /ipfs\.networkSearches: must be a whole number of searches from 1 to 64 \(default 4\)/,
    );
});

test("storage: a driver that does not exist, postgres without a URL, or a URL that is not postgres:// are refused, saying what to set", () => {
  const refused = (env: Record<string, string>, message: RegExp) =>
    assert.throws(
      () => loadConfig({ env }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(err.message, message);
        return true;
      },
    );
  for (const driver of ["postgresql", "mysql"])
    refused(
      { CARBONPROOF_ORACLE__STORAGE__DRIVER: driver },
      new RegExp(
        `storage\\.driver: storage driver "${driver}" does not exist: the drivers that exist are sqlite, postgres; set storage\\.driver to one of them or leave it out \\(sqlite\\)`,
      ),
    );
  refused(
    { CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres" },
    /storage\.url: storage\.driver "postgres" needs storage\.url \(postgres:\/\/user:password@host:5432\/database\)/,
  );
  for (const url of ["mysql://x@127.0.0.1/db", "not a url", "postgres://"])
    refused(
      { CARBONPROOF_ORACLE__STORAGE__DRIVER: "postgres", CARBONPROOF_ORACLE__STORAGE__URL: url },
      /storage\.url: storage\.url must be a postgres:\/\/ \(or postgresql:\/\/\) URL/,
    );
});

describe("batching.windowS: 1 min to 24 h (issue 6), shorter only on the local chain or when allowed", () => {
  const on = (chainId: number, batching: Record<string, unknown>) =>
    parseConfig({ chain: { chainId }, batching }).batching.windowS;

  test("59 s on a chain other than the local one is refused, saying the minimum and how to proceed", () => {
    throwsConfigError(
      () =>
        loadConfig({
          env: { CARBONPROOF_ORACLE__CHAIN__CHAIN_ID: "11155111", CARBONPROOF_ORACLE__BATCHING__WINDOW_S: "59" },
        }),
      /batching\.windowS: 59 s is under the minimum of 60 s \(1 min\)/,
      /local chain \(chain\.chainId 31337\) only, and chain\.chainId is 11155111/,
      /set batching\.windowS to 60\.\.86400, or batching\.allowShortWindows to true on a test network/,
    );
  });

  test("60 s and 86400 s are accepted on any chain", () => {
    assert.equal(on(1, { windowS: 60 }), 60);
    assert.equal(on(1, { windowS: 86_400 }), 86_400);
    assert.equal(on(31337, { windowS: 60 }), 60);
    assert.equal(parseConfig({ chain: { chainId: 1 } }).batching.windowS, 3600, "the default");
  });

  test("86401 s is refused on every chain, saying the range", () => {
    for (const chainId of [1, 31337]) {
      throwsConfigError(
        () => parseConfig({ chain: { chainId }, batching: { windowS: 86_401, allowShortWindows: true } }),
        /batching\.windowS: must be at most 86400 \(24 h\): set a window from 60 \(1 min\) to 86400 \(24 h\)/,
      );
    }
  });

  test("under 60 s is allowed on the local chain (31337, the default: tests, the bench, npm start) and with allowShortWindows elsewhere", () => {
    assert.equal(on(31337, { windowS: 1 }), 1);
    assert.equal(parseConfig({ batching: { windowS: 2 } }).batching.windowS, 2, "chain.chainId defaults to 31337");
    assert.equal(on(11155111, { windowS: 30, allowShortWindows: true }), 30);
    throwsConfigError(() => on(31337, { windowS: 0 }), /batching\.windowS: must be a whole number of seconds from 60/);
  });

  test("a window that does not divide a day (7000 s) is refused on every chain: it would span 1 January, two vintages CarbonCredits refuses", () => {
    for (const chainId of [1, 31337])
      throwsConfigError(
        () => on(chainId, { windowS: 7000 }),
        /batching\.windowS: 7000 s does not divide a day \(86400 s\), so a window would span midnight UTC and, once a year, two vintages/,
        /set a divisor of 86400 such as 60 \(1 min\), 300 \(5 min\), 900 \(15 min\), 3600 \(1 h\) or 86400 \(24 h\)/,
      );
    throwsConfigError(
      () => on(1, { windowS: 7, allowShortWindows: true }),
      /batching\.windowS: 7 s does not divide a day/,
    );
    for (const windowS of [60, 300, 900, 1800, 3600, 7200, 43_200, 86_400]) assert.equal(on(1, { windowS }), windowS);
    // windows count from 1970: of 3600 s, one ends at 2027-01-01T00:00Z; of 7000 s, one spans it (2026 and 2027)
    const newYear = Date.UTC(2027, 0, 1) / 1000;
    assert.equal(newYear % 3600, 0);
    assert.notEqual(newYear % 7000, 0);
  });
});

describe("facilities: keyed by the facility id its readings carry, with a country the factor set knows", () => {
  test("a key that is no facility id (upper case, a space) is refused, saying what an id is", () => {
    for (const key of ["Plant-A", "plant a"])
      throwsConfigError(
        () => parseConfig({ facilities: { [key]: { country: "KEN" } } }),
        new RegExp(`facilities\\.${key}: facility "${key}" is not a facility id \\(1–32 characters of a-z, 0-9`),
      );
    assert.equal(
      parseConfig({ facilities: { "plant-a.1_x": { country: "KEN" } } }).facilities["plant-a.1_x"]!.country,
      "KEN",
    );
  });

  test("from the environment, a facility's id is lower-cased with its underscores kept (a setting's name is camel-cased)", () => {
    const config = loadConfig({
      env: {
        CARBONPROOF_ORACLE__FACILITIES__PLANT_1__COUNTRY: "KEN",
        CARBONPROOF_ORACLE__FACILITIES__PLANT_1__FLUE_GAS_BIOGENIC_SHARE_BP: "4000",
      },
    });
    assert.deepEqual(config.facilities, { plant_1: { country: "KEN", flueGasBiogenicShareBp: 4000 } });
    // `facilities` written in lower case, as a setting's name may be: the same
    const lower = loadConfig({ env: { CARBONPROOF_ORACLE__facilities__PLANT_2__COUNTRY: "KEN" } });
    assert.deepEqual(lower.facilities, { plant_2: { country: "KEN" } });
  });

  test("an environment value read as JSON of the wrong type: the error says how to write it", () => {
    throwsConfigError(
      () => loadConfig({ env: { CARBONPROOF_ORACLE__MQTT__PASSWORD: "123456" } }),
      /mqtt\.password: .*expected string/,
      /quote a text that looks like a number or true\/false \('"123456"'\), and write a list as JSON/,
    );
    assert.equal(loadConfig({ env: { CARBONPROOF_ORACLE__MQTT__PASSWORD: '"123456"' } }).mqtt.password, "123456");
  });

  test("a country the factor set has no grid factor for is refused at start, naming the facility (and the upper-case code when that is the one)", () => {
    throwsConfigError(
      () => SdkCalculator.fromConfig(parseConfig({ facilities: { kangaita: { country: "ken" } } })),
      /^facilities\.kangaita\.country: factor set .+ has no grid factor for "ken": write it in upper case, "KEN"; every electricity reading of kangaita would be refused$/,
    );
    throwsConfigError(
      () => SdkCalculator.fromConfig(parseConfig({ facilities: { kangaita: { country: "XXX" } } })),
      /has no grid factor for "XXX" \(its \d+ countries are ISO 3166-1 alpha-3 codes, e\.g\. [A-Z]{3}, /,
    );
    assert.ok(SdkCalculator.fromConfig(parseConfig({ facilities: { kangaita: { country: "KEN" } } })));
  });

  // Every factor cites its source. Before: `{ contractualMgCo2ePerKwh: 0, scope2Method: "market" }` was
  // accepted and made every electricity reading 0 mg, citing only "contractual factor 0 g CO2e/kWh".
  test("a contractual factor without its citation (missing or blank) is refused, naming the key and what to write", () => {
    for (const [contractualCitation, word] of [
      [undefined, "missing"],
      ["", "blank"],
      ["  ", "blank"],
    ] as const) {
      throwsConfigError(
        () =>
          parseConfig({
            facilities: {
              x: {
                contractualMgCo2ePerKwh: 0,
                scope2Method: "market",
                ...(contractualCitation === undefined ? {} : { contractualCitation }),
              },
            },
          }),
        new RegExp(
          `\\n  - facilities\\.x\\.contractualCitation: ${word}: the contractual factor facilities\\.x\\.contractualMgCo2ePerKwh \\(0 g CO2e/kWh\\) cites no source, and every electricity reading of x would be refused; set facilities\\.x\\.contractualCitation to the supplier's or certificate's document the factor comes from \\(e\\.g\\. "GO certificate no\\. …, 2026"\\), or remove the factor\\n`,
        ),
      );
    }
    // only reported (location-based counted), the factor is still a figure in every result: cited too
    throwsConfigError(
      () => parseConfig({ facilities: { kangaita: { country: "KEN", contractualMgCo2ePerKwh: 412_345 } } }),
      /facilities\.kangaita\.contractualCitation: missing: .*\(412\.345 g CO2e\/kWh\)/,
    );
    // from the environment too (a citation is text, not JSON)
    throwsConfigError(
      () => loadConfig({ env: { CARBONPROOF_ORACLE__FACILITIES__PLANT_1__CONTRACTUAL_MG_CO2E_PER_KWH: "0" } }),
      /facilities\.plant_1\.contractualCitation: missing: /,
    );
    const fromEnv = loadConfig({
      env: {
        CARBONPROOF_ORACLE__FACILITIES__PLANT_1__CONTRACTUAL_MG_CO2E_PER_KWH: "0",
        CARBONPROOF_ORACLE__FACILITIES__PLANT_1__CONTRACTUAL_CITATION: "GO certificate no. 7, 2026",
      },
    });
    assert.deepEqual(fromEnv.facilities, {
      plant_1: { contractualMgCo2ePerKwh: 0, contractualCitation: "GO certificate no. 7, 2026" },
    });
  });

  // Known answer: 120 Wh × 412.345 g CO2e/kWh = 120 × 412,345 mg / 1000 = 49,481.4 mg, floored to
  // 49,481 mg (GHG Protocol Scope 2, market-based: activity × contractual factor), the certificate cited.
  test("a cited contractual factor is counted (market-based) and its citation is in the result", () => {
    const citation = "GO certificate no. KE-2026-000123, 2026";
    const calc = SdkCalculator.fromConfig(
      parseConfig({
        facilities: {
          kangaita: {
            country: "KEN",
            contractualMgCo2ePerKwh: 412_345,
            contractualCitation: citation,
            scope2Method: "market",
          },
        },
      }),
    );
    const r = calc.compute(electricity(makeDevice("kangaita-meter-1", "kangaita"), { energyWh: 120 }).reading);
    assert.equal(r.fossilMg, 49_481n);
    assert.ok(
      (r.detail as { citations: string[] }).citations.includes(
        `contractual factor 412.345 g CO2e/kWh (market-based): ${citation}`,
      ),
    );
  });

  test("a context given without the config (uncited factor): each electricity reading is a computation error, not 0 mg", () => {
    const calc = new SdkCalculator({
      facilities: { kangaita: { contractualMgCo2ePerKwh: 0, scope2Method: "market" } },
    });
    const reading = electricity(makeDevice("kangaita-meter-1", "kangaita"), { energyWh: 120 }).reading;
    assert.throws(() => calc.compute(reading), { code: "UNKNOWN_FACTOR" });
    // what the ingestor dead-letters as `computation`
    const evaluated = evaluate(reading, calc.posted());
    assert.ok(
      "computeError" in evaluated,
      JSON.stringify(evaluated, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
    );
    assert.match(evaluated.computeError, /contractual factor 0 g CO2e\/kWh has no source: give contractualCitation/);
  });
});

describe("methodology.factorSetFile: a factor set of the operator's instead of the built-in one", () => {
  /** A file in the temp dir holding `text`; its path. */
  function file(name: string, text: string): string {
    const path = join(tmp.dir, name);
    writeFileSync(path, text);
    return path;
  }
  const calculatorFor = (factorSetFile: string) =>
    SdkCalculator.fromConfig(
      parseConfig({ methodology: { factorSetFile }, facilities: { kangaita: { country: "KEN" } } }),
    );

  test("computes with the file's factors and carries its id (known answer: 120 Wh × 500 g CO2e/kWh = 60 g)", () => {
    const set = kenya500FactorSet();
    const meter = makeDevice("kangaita-meter-1", "kangaita");
    const reading = electricity(meter, { energyWh: 120 }).reading;
    // as `carbonproof factors show --json` writes it ({id, content}), and the bare content
    for (const text of [JSON.stringify(set), JSON.stringify(set.content)]) {
      const calc = calculatorFor(file("kenya-500.json", text));
      assert.equal(calc.factorSetId, set.id);
      assert.equal(calc.posted().factorSet.id, set.id, "the set the verify and bundle workers get");
      const r = calc.compute(reading);
      // GHG Protocol Scope 2, location-based: activity (kWh) × grid factor; 0.120 kWh × 500,000 mg/kWh
      assert.equal(r.fossilMg, 60_000n);
      assert.equal((r.detail as { factorSetId: string }).factorSetId, set.id);
    }
    const builtIn = SdkCalculator.fromConfig(parseConfig({ facilities: { kangaita: { country: "KEN" } } }));
    assert.equal(builtIn.factorSetId, defaultFactorSet().id, "without the key: the built-in set");
    assert.notEqual(builtIn.compute(reading).fossilMg, 60_000n);
  });

  test("a relative path from the environment resolves against the working directory", () => {
    const set = kenya500FactorSet();
    file("relative.json", JSON.stringify(set));
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      const config = loadConfig({ env: { CARBONPROOF_ORACLE__METHODOLOGY__FACTOR_SET_FILE: "relative.json" } });
      assert.equal(loadFactorSetFile(config)!.id, set.id);
    } finally {
      process.chdir(cwd);
    }
  });

  test("a missing file is refused naming the file", () => {
    const missing = join(tmp.dir, "no-such-factors.json");
    throwsConfigError(
      () => calculatorFor(missing),
      new RegExp(`methodology\\.factorSetFile \\(${literal(missing)}\\) cannot be read: no such file; check the path`),
    );
  });

  test("a file that is not JSON is refused naming the file and saying how to write one", () => {
    const path = file("not-json.json", "fuels: wood\n");
    throwsConfigError(
      () => calculatorFor(path),
      new RegExp(`methodology\\.factorSetFile \\(${literal(path)}\\) is not valid JSON \\(`),
      /carbonproof factors show --json/,
    );
  });

  test("a file that fails the factor-set schema is refused with each offending field's path", () => {
    const { content } = kenya500FactorSet();
    const bad = { ...content, fuels: { ...content.fuels, wood: { ...content.fuels.wood!, co2KgPerTj: 112000 } } };
    delete (bad as Partial<typeof bad>).name;
    const path = file("bad-schema.json", JSON.stringify({ content: bad }));
    throwsConfigError(
      () => calculatorFor(path),
      new RegExp(
        `methodology\\.factorSetFile \\(${literal(path)}\\) is not a valid factor set \\(carbonproof\\.factor-set/1\\):`,
      ),
      /\n {2}- name: /,
      /\n {2}- fuels\.wood\.co2KgPerTj: /,
    );
  });

  test("a file whose id does not match its content is refused, saying both ids", () => {
    const set = kenya500FactorSet();
    const edited = { id: set.id, content: { ...set.content, name: "edited by hand" } };
    const path = file("id-mismatch.json", JSON.stringify(edited));
    throwsConfigError(
      () => calculatorFor(path),
      new RegExp(
        `methodology\\.factorSetFile \\(${literal(path)}\\): its id ${set.id} does not match its content \\(0x[0-9a-f]{64}\\)`,
      ),
      /restore the file, or remove its "id"/,
    );
  });
});

describe("relative paths: a config file's against its directory, the environment's against the working directory", () => {
  /** `PATH_SETTINGS` key → a relative value for it. */
  const relativeValues: Record<(typeof PATH_SETTINGS)[number], string> = {
    dataDir: "data",
    "mqtt.caFile": "tls/ca.pem",
    "mqtt.certFile": "tls/client.pem",
    "mqtt.keyFile": "../secrets/client.key",
    "chain.keystore.path": "keys/keystore.json",
    "devices.file": "devices.json",
    "methodology.factorSetFile": "factors/kenya-500.json",
  };
  /** A nested object with each `settings` key (dotted) set to its value. */
  function nested(settings: Record<string, string>): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [setting, value] of Object.entries(settings)) {
      const keys = setting.split(".");
      let node = out;
      for (const key of keys.slice(0, -1)) node = (node[key] ??= {}) as Record<string, unknown>;
      node[keys.at(-1)!] = value;
    }
    return out;
  }
  const valueAt = (config: Config, setting: string): unknown =>
    setting.split(".").reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], config);
  /** `config` written as `dir`/oracle.json; its path. */
  function configFile(dir: string, config: unknown): string {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, "oracle.json");
    writeFileSync(path, JSON.stringify(config));
    return path;
  }
  /** Runs `fn` with the working directory `dir` (another one than the config file's). */
  function inDir<T>(dir: string, fn: () => T): T {
    mkdirSync(dir, { recursive: true });
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      return fn();
    } finally {
      process.chdir(cwd);
    }
  }
  const etc = join(tmp.dir, "etc", "cp");
  const elsewhere = join(tmp.dir, "elsewhere");

  test("each relative path in the file resolves against the file's directory, wherever the node is started", () => {
    const file = configFile(etc, nested(relativeValues));
    const config = inDir(elsewhere, () => loadConfig({ file, env: {} }));
    for (const [setting, value] of Object.entries(relativeValues)) {
      assert.equal(valueAt(config, setting), resolve(etc, value), setting);
    }
    assert.equal(config.mqtt.keyFile, join(tmp.dir, "etc", "secrets", "client.key"), "`..` is normalised");
  });

  test("a config file named by a relative path: its directory is found from the working directory", () => {
    configFile(etc, { dataDir: "data" });
    const config = inDir(tmp.dir, () => loadConfig({ file: join("etc", "cp", "oracle.json"), env: {} }));
    assert.equal(config.dataDir, join(etc, "data"));
  });

  test("absolute paths in the file are kept as they are", () => {
    const absolute = Object.fromEntries(
      Object.entries(relativeValues).map(([setting, value]) => [setting, join(tmp.dir, "abs", value)]),
    );
    const file = configFile(join(tmp.dir, "abs-config"), nested(absolute));
    const config = inDir(elsewhere, () => loadConfig({ file, env: {} }));
    for (const [setting, value] of Object.entries(absolute)) assert.equal(valueAt(config, setting), value, setting);
  });

  test("a relative path from the environment or overrides stays relative to the working directory, also over the file's", () => {
    const file = configFile(etc, { dataDir: "data", devices: { file: "devices.json" } });
    const config = inDir(elsewhere, () =>
      loadConfig({
        file,
        env: { CARBONPROOF_ORACLE__DATA_DIR: "env-data", CARBONPROOF_ORACLE__MQTT__CA_FILE: "ca.pem" },
        overrides: { devices: { file: "override-devices.json" } },
      }),
    );
    assert.equal(config.dataDir, "env-data");
    assert.equal(config.mqtt.caFile, "ca.pem");
    assert.equal(config.devices.file, "override-devices.json");
  });

  test("dataDir left out of the file keeps its default, relative to the working directory as without a file", () => {
    const file = configFile(join(tmp.dir, "no-data-dir"), { nodeName: "n" });
    assert.equal(loadConfig({ file, env: {} }).dataDir, ".carbonproof/oracle");
    assert.equal(loadConfig({ env: {} }).dataDir, ".carbonproof/oracle");
  });

  test("a path that is not a string or is empty is still refused by the schema, naming the key", () => {
    const file = configFile(join(tmp.dir, "bad-paths"), { dataDir: "", devices: { file: 7 } });
    throwsConfigError(() => loadConfig({ file, env: {} }), /- dataDir: /, /- devices\.file: /);
  });

  test("a relative dataDir whose database is only where the working directory put it before is refused, saying how to move it", () => {
    const dir = join(tmp.dir, "upgraded");
    const file = configFile(dir, { dataDir: "state" });
    const started = join(tmp.dir, "started-here");
    // the database of a node that ran from `started` when paths were relative to the working directory
    // (only its existence is checked: an empty file stands for it)
    mkdirSync(join(started, "state"), { recursive: true });
    writeFileSync(join(started, "state", "oracle.db"), "");
    throwsConfigError(
      () => inDir(started, () => loadConfig({ file, env: {} })),
      new RegExp(
        `dataDir "state" in ${literal(file)} is relative to the config file's directory \\(${literal(join(dir, "state"))}\\), which has no database, while ${literal(join(started, "state"))} \\(relative to the working directory, as paths were before\\) has one: move ${literal(join(started, "state"))} to ${literal(join(dir, "state"))}, or set dataDir to "${literal(join(started, "state"))}"`,
      ),
    );
    const fromEnv = inDir(started, () => loadConfig({ file, env: { CARBONPROOF_ORACLE__DATA_DIR: "state" } }));
    assert.equal(fromEnv.dataDir, "state", "a dataDir from the environment is the working directory's, as before");
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(join(dir, "state", "oracle.db"), "");
    assert.equal(inDir(started, () => loadConfig({ file, env: {} })).dataDir, join(dir, "state"), "once moved");
  });

  test("methodology.factorSetFile relative to the config's directory loads that file, not one of the same name in the working directory", () => {
    const set = kenya500FactorSet();
    mkdirSync(join(etc, "factors"), { recursive: true });
    writeFileSync(join(etc, "factors", "kenya-500.json"), JSON.stringify(set));
    mkdirSync(join(elsewhere, "factors"), { recursive: true });
    writeFileSync(join(elsewhere, "factors", "kenya-500.json"), JSON.stringify(defaultFactorSet()));
    const file = configFile(etc, { methodology: { factorSetFile: "factors/kenya-500.json" } });
    const loaded = inDir(elsewhere, () => loadFactorSetFile(loadConfig({ file, env: {} })));
    assert.equal(loaded!.id, set.id);
    assert.notEqual(set.id, defaultFactorSet().id);
    // and an error names the resolved file
    const missing = configFile(join(tmp.dir, "missing-factors"), { methodology: { factorSetFile: "none.json" } });
    const expected = join(tmp.dir, "missing-factors", "none.json");
    throwsConfigError(
      () => inDir(elsewhere, () => loadFactorSetFile(loadConfig({ file: missing, env: {} }))),
      new RegExp(`methodology\\.factorSetFile \\(${literal(expected)}\\) cannot be read: no such file`),
    );
  });
});

/** `s` with the characters a RegExp treats specially escaped. */
function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

describe("every object of the config is strict: an unknown key stops the node, naming it", () => {
  /** The dotted paths of every object of the schema below `path` (the sections, rateLimit, anomaly, keystore). */
  function objectsBelow(path: string[]): string[][] {
    return settingsAt(path).flatMap((key) =>
      settingsAt([...path, key]).length > 0 ? [[...path, key], ...objectsBelow([...path, key])] : [],
    );
  }
  /** `{ a: { b: leaf } }` for the path a.b. */
  const nestedAt = (path: string[], leaf: unknown): unknown =>
    path.reduceRight((inner, key) => ({ [key]: inner }), leaf);

  test("a typo in a section written in the config file (mqtt.requireAuthentication) is refused, naming the key and the setting meant", () => {
    const dir = join(tmp.dir, "typo");
    mkdirSync(dir, { recursive: true });
    const file = join(dir, "oracle.json");
    writeFileSync(file, JSON.stringify({ mqtt: { requireAuthentication: true } }));
    throwsConfigError(
      () => loadConfig({ file, env: {} }),
      /\n {2}- mqtt\.requireAuthentication: no such setting: did you mean mqtt\.requireAuth \(CARBONPROOF_ORACLE__MQTT__REQUIRE_AUTH in the environment\)\?\n/,
    );
  });

  test("every section and nested object refuses a key it does not have, on a line of its own naming its path", () => {
    const objects = [[], ...objectsBelow([])];
    assert.ok(
      objects.length >= 17,
      `the sections, http.rateLimit, validation.anomaly, chain.keystore: ${objects.length}`,
    );
    for (const path of objects) {
      const where = path.length === 0 ? "the top level" : path.join(".");
      throwsConfigError(
        () => parseConfig(nestedAt(path, { bogusSetting: 1 })),
        new RegExp(
          `\\n {2}- ${literal([...path, "bogusSetting"].join("."))}: no such setting \\(the settings of ${literal(where)} are `,
        ),
      );
    }
    throwsConfigError(
      () =>
        parseConfig({
          facilities: { "tea-1": { countryCode: "KEN" } },
          quorum: { peers: [{ url: "https://b.example", key: "k" }] },
        }),
      /- facilities\.tea-1\.countryCode: no such setting: did you mean facilities\.tea-1\.country\?/,
      /- quorum\.peers\.0\.key: no such setting \(the settings of quorum\.peers\.0 are url, apiKey\)/,
    );
  });

  test("from the environment: a name whose words are run together (…__MQTT__REQUIREAUTH) is refused, saying the variable meant; that one works", () => {
    throwsConfigError(
      () => loadConfig({ env: { CARBONPROOF_ORACLE__MQTT__REQUIREAUTH: "true" } }),
      /- mqtt\.requireauth: no such setting: did you mean mqtt\.requireAuth \(CARBONPROOF_ORACLE__MQTT__REQUIRE_AUTH in the environment\)\?/,
      /sections joined by __ and a name's words by _/,
    );
    throwsConfigError(
      () => loadConfig({ env: { CARBONPROOF_ORACLE__CHAIN__KEYSTORE__PASWORD_ENV: "P" } }),
      /- chain\.keystore\.paswordEnv: no such setting: did you mean chain\.keystore\.passwordEnv \(CARBONPROOF_ORACLE__CHAIN__KEYSTORE__PASSWORD_ENV in the environment\)\?/,
    );
    assert.equal(loadConfig({ env: { CARBONPROOF_ORACLE__MQTT__REQUIRE_AUTH: "true" } }).mqtt.requireAuth, true);
  });

  test("every setting's variable, as the error names it, sets that setting", () => {
    for (const path of [[], ...objectsBelow([])]) {
      for (const key of settingsAt([...path])) {
        const name = envName([...path, key])!;
        assert.deepEqual(envOverrides({ [name]: '"x"' }), nestedAt([...path, key], "x"), name);
      }
    }
    assert.equal(envName(["facilities", "plant_1", "country"]), "CARBONPROOF_ORACLE__FACILITIES__PLANT_1__COUNTRY");
    assert.equal(envName(["facilities", "tea-1", "country"]), undefined, "no variable's name holds that id");
  });
});

test("environment: a whole section as JSON and a key of it in its own variable are both taken, in either order", () => {
  const whole = ["CARBONPROOF_ORACLE__FACILITIES", JSON.stringify({ "tea-1": { country: "KEN" } })] as const;
  const key = ["CARBONPROOF_ORACLE__FACILITIES__PLANT_1__COUNTRY", "UGA"] as const;
  for (const env of [Object.fromEntries([key, whole]), Object.fromEntries([whole, key])]) {
    assert.deepEqual(
      loadConfig({ env }).facilities,
      { "tea-1": { country: "KEN" }, plant_1: { country: "UGA" } },
      Object.keys(env).join(", "),
    );
  }
});

test("timers: a delay above 2^31 − 1 ms, which Node would run after 1 ms, is refused, saying the most", () => {
  const timers = [
    ["ipfs", "timeoutMs"],
    ["readiness", "probeMs"],
    ["batching", "tickMs"],
    ["shortfalls", "everyMs"],
    ["quorum", "timeoutMs"],
  ];
  for (const [section, key] of timers) {
    throwsConfigError(
      () => parseConfig({ [section!]: { [key!]: MAX_TIMER_MS + 1 } }),
      new RegExp(
        `${section}\\.${key}: must be at most 2147483647 ms \\(about 24\\.8 days\\), the longest delay a Node timer takes`,
      ),
    );
    const config = parseConfig({ [section!]: { [key!]: MAX_TIMER_MS } }) as unknown as Record<
      string,
      Record<string, number>
    >;
    assert.equal(config[section!]![key!], MAX_TIMER_MS);
  }
  // ingest waits chain.pollMs + 10 s on one timer
  throwsConfigError(
    () => parseConfig({ chain: { pollMs: MAX_TIMER_MS } }),
    /chain\.pollMs: must be at most 2147473647 ms/,
  );
  assert.equal(parseConfig({ chain: { pollMs: MAX_TIMER_MS - 10_000 } }).chain.pollMs, MAX_TIMER_MS - 10_000);
});

test("chain.rpcUrl: an http(s) URL, as the node's JSON-RPC client needs; anything else is refused, saying so", () => {
  assert.equal(parseConfig({}).chain.rpcUrl, "http://127.0.0.1:8545");
  assert.equal(
    parseConfig({ chain: { rpcUrl: "https://rpc.example.org/v3/k" } }).chain.rpcUrl,
    "https://rpc.example.org/v3/k",
  );
  for (const rpcUrl of ["127.0.0.1:8545", "localhost", "ws://127.0.0.1:8546", "ftp://rpc.example.org", ""])
    throwsConfigError(
      () => parseConfig({ chain: { rpcUrl } }),
      /chain\.rpcUrl: must be an http\(s\) URL such as https:\/\/rpc\.example\.org or http:\/\/127\.0\.0\.1:8545/,
    );
});
