// Pulse-output (S0) energy meter: pulses → whole Wh, carrying the remainder so
// that no energy is lost between readings (e.g. 800 imp/kWh = 1.25 Wh/pulse).
#pragma once
#include <cstdint>

namespace cp {

class PulseEnergy {
 public:
  explicit PulseEnergy(uint32_t impulsesPerKwh) : impPerKwh_(impulsesPerKwh ? impulsesPerKwh : 1) {}
  // Adds pulses counted since the last call; returns the whole Wh to report,
  // keeping the fraction (in 1/impPerKwh Wh) for the next call.
  int64_t addPulses(uint64_t pulses);
  uint64_t carry() const { return carry_; }  // pending, in units of 1/impPerKwh Wh
  void setCarry(uint64_t c) { carry_ = c % impPerKwh_; }

 private:
  uint32_t impPerKwh_;
  uint64_t carry_ = 0;
};

// The counter of a pulse input (PCNT on the ESP32) is 16-bit and wraps; this
// gives the pulses between two counter samples.
inline uint32_t pulsesBetween(uint16_t before, uint16_t after) { return static_cast<uint16_t>(after - before); }

}  // namespace cp
