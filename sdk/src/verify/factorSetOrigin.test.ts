import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultFactorSet, factorSetId } from "../factors/factorSet.ts";
import { describeFacilityContext, describeFactorSetOrigin, factorSetOrigin } from "./factorSetOrigin.ts";

describe("factorSetOrigin", () => {
  it("names each built-in variant (GWP report × sector)", () => {
    for (const gwp of ["AR5", "AR6"] as const)
      for (const sector of ["energy", "manufacturing"] as const) {
        const set = defaultFactorSet({ gwp, sector });
        const o = factorSetOrigin(set);
        assert.deepEqual([o.builtIn, o.builtInName, o.differences], [true, set.content.name, []]);
        assert.equal(describeFactorSetOrigin(o), `${set.id} is the sdk's built-in "${set.content.name}"`);
      }
  });

  it("lists the entries of another set that differ from the closest built-in one", () => {
    const base = defaultFactorSet({ gwp: "AR5", sector: "energy" });
    const grid = { ...base.content.grid!, mgCo2ePerKwh: { ...base.content.grid!.mgCo2ePerKwh, KEN: 1 } };
    const fuels = { ...base.content.fuels };
    const [fuel] = Object.keys(fuels);
    fuels[fuel!] = { ...fuels[fuel!]!, co2KgPerTj: "1.5" };
    const content = { ...base.content, name: "site-measured", grid, fuels };
    const o = factorSetOrigin({ id: factorSetId(content), content });
    assert.equal(o.builtIn, false);
    assert.equal(o.builtInName, base.content.name);
    assert.deepEqual(
      o.differences.map((d) => d.path),
      [`fuels.${fuel}.co2KgPerTj`, "grid.mgCo2ePerKwh.KEN", "name"],
    );
    assert.deepEqual(o.differences[2], { path: "name", bundle: "site-measured", builtIn: base.content.name });
    const line = describeFactorSetOrigin(o, 2);
    assert.match(
      line,
      /"site-measured" is not the sdk's built-in: 3 entries differ from "carbonproof-default\/ipcc2006-energy\/ar5\//,
    );
    assert.match(
      line,
      new RegExp(
        `fuels\\.${fuel}\\.co2KgPerTj "1\\.5" \\(built-in "[0-9.]+"\\); grid\\.mgCo2ePerKwh\\.KEN 1 \\(built-in \\d+\\); and 1 more`,
      ),
    );
  });

  it("says when the id does not hash the content", () => {
    const set = defaultFactorSet();
    const o = factorSetOrigin({ id: set.id, content: { ...set.content, name: "renamed" } });
    assert.equal(o.idMatchesContent, false);
    assert.equal(o.builtIn, false);
    assert.match(describeFactorSetOrigin(o), /does not hash its content \("renamed"\)/);
  });

  it("describes a facility context field by field, or says none was given", () => {
    assert.equal(
      describeFacilityContext({ scope2Method: "market", country: "KEN", flueGasBiogenicShareBp: 2500 }),
      'country "KEN", flueGasBiogenicShareBp 2500, scope2Method "market"',
    );
    assert.match(describeFacilityContext({}), /^none /);
  });
});
