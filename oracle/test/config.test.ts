import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, loadConfig, parseConfig } from "../src/config/load.ts";

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
