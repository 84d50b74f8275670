// Pitot-tube gas velocity from a differential pressure, all in integers:
//   v = C · sqrt(2 Δp / ρ),  ρ = P · M / (R · T)
//   v[mm/s]² = 2 · Δp[mPa] · R·10⁹ · T[cK] · C[‰]² / (10⁸ · P[Pa] · M[mg/mol])
// evaluated with mbedtls_mpi and an integer square root (floor).
#pragma once
#include <cstdint>

namespace cp::pitot {

// Molar mass of the flue gas, mg/mol. Air is 28965; biomass flue gas with
// ~4 % CO2 and ~10 % H2O is close to 29 000 — configure per site.
constexpr int64_t kAirMolarMassMgPerMol = 28965;

struct Params {
  int64_t coefficientPermille = 1000;  // 1000 for a Prandtl tube, ~840 for an S-type
  int64_t molarMassMgPerMol = kAirMolarMassMgPerMol;
};

uint64_t isqrt(uint64_t n);  // floor(sqrt(n))

// Returns false on tempCentiC <= -27315, pressurePa <= 0 or out-of-range
// results; a negative Δp (reverse flow / sensor offset) gives 0 mm/s.
bool velocityMmS(int64_t dpMilliPa, int64_t tempCentiC, int64_t pressurePa, const Params& p, int64_t& out);

}  // namespace cp::pitot
