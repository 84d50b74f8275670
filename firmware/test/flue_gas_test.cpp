#include <doctest/doctest.h>

#include "carbonproof/flue_gas.h"

using namespace cp;

TEST_CASE("flue-gas mass known answer from docs/protocol.md: 420228 mg") {
  // velocityMmS 6200, ductDiameterMm 600, co2Ppm 41000, pressurePa 101325,
  // tempCentiC 18550, intervalS 5 → 420228 mg (checked with Python big ints).
  int64_t mg = 0;
  std::string err;
  REQUIRE_MESSAGE(flueGasMassMg({41000, 18550, 6200, 101325, 600}, 5, mg, &err), err);
  CHECK(mg == 420228);
}

TEST_CASE("flue-gas mass floors - scales linearly with interval and handles edge values") {
  int64_t a = 0, b = 0;
  REQUIRE(flueGasMassMg({41000, 18550, 6200, 101325, 600}, 1, a));
  REQUIRE(flueGasMassMg({41000, 18550, 6200, 101325, 600}, 3600, b));
  CHECK(a == 84045);  // floor(420228.x / 5)
  CHECK(b >= a * 3600);
  CHECK(b < (a + 1) * 3600);
  REQUIRE(flueGasMassMg({0, 18550, 6200, 101325, 600}, 5, a));
  CHECK(a == 0);
  REQUIRE(flueGasMassMg({41000, -27314, 6200, 101325, 600}, 5, a));  // 0.01 K: huge but defined
  CHECK(a > 0);
  std::string err;
  CHECK_FALSE(flueGasMassMg({41000, -27315, 6200, 101325, 600}, 5, a, &err));
  CHECK(err.find("absolute zero") != std::string::npos);
}

TEST_CASE("flue-gas mass with inputs beyond 64-bit intermediates stays exact") {
  // The numerator is ~10^39 here: only big integers get this right.
  int64_t mg = 0;
  REQUIRE(flueGasMassMg({100000, 50000, 30000, 120000, 3000}, 86400, mg));
  // Python: 30000*314159265358979*3000**2*100000*120000*440095*86400 // (4*10**19*8314462618*77315)
  CHECK(mg == 1505210098201LL);
}
