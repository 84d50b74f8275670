// MAX31855 K-type thermocouple-to-digital converter: decodes the 32-bit SPI
// frame (datasheet "Memory Map": D31..D18 thermocouple 14-bit two's complement,
// 0.25 °C; D16 fault; D15..D4 cold junction 12-bit, 0.0625 °C; D2 SCV, D1 SCG,
// D0 OC). D17 and D3 are reserved and always read 0.
//
// A frame the chip cannot have sent is a fault too: all zeros (board unplugged
// or MISO stuck low; it would decode as a valid 0 °C, and CO2 mass scales with
// 1/sqrt(T) (pitot velocity), so a 185 °C flue would be over-reported by ~30 %) and any
// frame with a reserved bit set (all ones: MISO floating high).
#pragma once
#include <cstdint>

namespace cp::max31855 {

struct Sample {
  bool fault = false;        // D16: any of the three below
  bool openCircuit = false;  // D0 OC
  bool shortToGnd = false;   // D1 SCG
  bool shortToVcc = false;   // D2 SCV
  bool badFrame = false;     // all zeros or a reserved bit (D17, D3) set: no chip answered
  int64_t tempCentiC = 0;          // thermocouple (hot junction), 0.01 °C (exact: 0.25 °C = 25)
  int64_t internalCentiC = 0;      // cold junction, 0.01 °C, floored from 0.0625 °C steps
  bool ok() const { return !fault && !badFrame; }
};

Sample decode(uint32_t frame);

}  // namespace cp::max31855
