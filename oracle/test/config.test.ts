import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { defaultFactorSet, factorSetId, type FactorSet } from "../../sdk/src/index.ts";
import { ConfigError, loadConfig, loadFactorSetFile, parseConfig } from "../src/config/load.ts";
import { SdkCalculator } from "../src/compute/sdk.ts";
import { electricity, makeDevice } from "./fixtures.ts";
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

test("storage.driver: sqlite is accepted and the default", () => {
  assert.equal(parseConfig({}).storage.driver, "sqlite");
  assert.equal(parseConfig({ storage: { driver: "sqlite" } }).storage.driver, "sqlite");
});

test("storage.driver: a driver that does not exist is refused, naming the ones that exist and that PostgreSQL is not yet implemented", () => {
  for (const driver of ["postgres", "postgresql", "mysql"]) {
    assert.throws(
      () => loadConfig({ env: { CARBONPROOF_ORACLE__STORAGE__DRIVER: driver } }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.match(
          err.message,
          new RegExp(
            `storage\\.driver: storage driver "${driver}" does not exist: the drivers that exist are sqlite \\(PostgreSQL is not yet implemented\\); set storage\\.driver to "sqlite" or leave it out`,
          ),
        );
        return true;
      },
    );
  }
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
    assert.equal(on(11155111, { windowS: 59, allowShortWindows: true }), 59);
    throwsConfigError(() => on(31337, { windowS: 0 }), /batching\.windowS: must be a whole number of seconds from 60/);
  });
});

describe("methodology.factorSetFile: a factor set of the operator's instead of the built-in one", () => {
  /** The built-in set with Kenya's grid factor set to 500 g CO2e/kWh, under another name (so another id). */
  function customSet(): FactorSet {
    const base = defaultFactorSet().content;
    const content = {
      ...base,
      name: "test/kenya-500",
      grid: { ...base.grid!, mgCo2ePerKwh: { ...base.grid!.mgCo2ePerKwh, KEN: 500_000 } },
    };
    return { id: factorSetId(content), content };
  }
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
    const set = customSet();
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

  test("a relative path resolves against the working directory, like every path in the config", () => {
    const set = customSet();
    file("relative.json", JSON.stringify(set));
    const cwd = process.cwd();
    process.chdir(tmp.dir);
    try {
      assert.equal(calculatorFor("relative.json").factorSetId, set.id);
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
    const { content } = customSet();
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
    const set = customSet();
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

/** `s` with the characters a RegExp treats specially escaped. */
function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
