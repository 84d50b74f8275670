#include "carbonproof/flue_gas.h"

#include "carbonproof/bigint.h"

namespace cp {

bool flueGasMassMg(const FlueGas& m, int64_t intervalS, int64_t& massMg, std::string* err) {
  auto fail = [&](const char* msg) {
    if (err) *err = msg;
    return false;
  };
  if (m.tempCentiC <= -27315) return fail("tempCentiC <= -27315 is below absolute zero: reading invalid");
  if (m.velocityMmS < 0 || m.ductDiameterMm < 0 || m.co2Ppm < 0 || m.pressurePa < 0 || intervalS < 1)
    return fail("flue-gas measurements must be >= 0 and intervalS >= 1");
  BigInt num(static_cast<uint64_t>(m.velocityMmS));
  num.mul(314159265358979ULL)
      .mul(static_cast<uint64_t>(m.ductDiameterMm))
      .mul(static_cast<uint64_t>(m.ductDiameterMm))
      .mul(static_cast<uint64_t>(m.co2Ppm))
      .mul(static_cast<uint64_t>(m.pressurePa))
      .mul(440095ULL)
      .mul(static_cast<uint64_t>(intervalS));
  BigInt den(4000000000000000000ULL);  // 4·10^18 · 10 = 4·10^19 (> 2^64 on its own)
  den.mul(10ULL).mul(8314462618ULL).mul(static_cast<uint64_t>(m.tempCentiC + 27315));
  num.div(den);
  uint64_t q;
  if (!num.toU64(q) || q > static_cast<uint64_t>(INT64_MAX)) return fail("flue-gas mass does not fit in int64 mg");
  massMg = static_cast<int64_t>(q);
  return true;
}

}  // namespace cp
