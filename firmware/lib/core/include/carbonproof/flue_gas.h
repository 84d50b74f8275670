// Flue-gas CO2 mass of one reading, exactly the integer formula of
// docs/protocol.md, evaluated with mbedtls_mpi big integers and floored to mg.
#pragma once
#include <cstdint>
#include <string>

#include "carbonproof/reading.h"

namespace cp {

// massMg = floor( v · 314159265358979 · d² · ppm · P · 440095 · Δt
//                 / ( 4·10^19 · 8314462618 · (tempCentiC + 27315) ) )
// False (and *err) for tempCentiC <= -27315, negative inputs, or a result that
// does not fit in int64.
bool flueGasMassMg(const FlueGas& m, int64_t intervalS, int64_t& massMg, std::string* err = nullptr);

}  // namespace cp
