import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultFactorSet, withSpendFactors } from "../factors/factorSet.ts";
import { ActivityError, computeActivity, parseActivities } from "./activity.ts";

const ar6 = defaultFactorSet({ gwp: "AR6", sector: "manufacturing" });

/** The one issue of an ActivityError thrown by `fn`. */
function issueOf(fn: () => unknown): { field: string; expected: string } {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ActivityError, String(error));
    assert.equal(error.issues.length, 1);
    return error.issues[0]!;
  }
  assert.fail("expected an ActivityError");
}

test("a fuel or spend category named like an Object.prototype member is unknown, not a factor", () => {
  const spendSet = withSpendFactors(ar6, {
    citation: "test table (not EPA data)",
    currency: "USD",
    currencyYear: 2022,
    unit: "kg CO2e/2022 USD, purchaser price",
    factors: { "222222": { title: "test", kgCo2ePerUnit: "0.500", withoutMargins: "0.400", margins: "0.100" } },
  });
  for (const name of ["constructor", "toString", "__proto__"]) {
    const [fuel] = parseActivities([
      { kind: "fuel", fuel: name, litres: 1, densityKgPerM3: 840, densitySource: "datasheet" },
    ]);
    assert.match(issueOf(() => computeActivity(fuel!, 0, ar6)).expected, /unknown fuel/i, name);
    const [byMass] = parseActivities([{ kind: "fuel", fuel: name, massKg: 1 }]);
    assert.match(issueOf(() => computeActivity(byMass!, 0, ar6)).expected, /Unknown fuel/, name);
    const [spend] = parseActivities([{ kind: "spend", category: name, amount: 1, currency: "USD" }]);
    const issue = issueOf(() => computeActivity(spend!, 0, spendSet));
    assert.equal(issue.field, "category", name);
    assert.match(issue.expected, /is not in them/, name);
  }
});
