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

// Energy since the last recorded electricity reading. Nothing is thrown away:
// while a reading cannot be recorded (clock not yet set by SNTP, storage
// failure) the Wh stay pending and go into the next reading, whose intervalS
// covers the whole time since the last recorded one.
class MeterInterval {
 public:
  MeterInterval(uint32_t impulsesPerKwh, uint64_t startMs) : energy_(impulsesPerKwh), sinceMs_(startMs) {}
  void addPulses(uint64_t pulses) { pendingWh_ += energy_.addPulses(pulses); }
  int64_t pendingWh() const { return pendingWh_; }
  // Seconds since the last recorded reading, rounded, at least 1.
  int64_t intervalS(uint64_t nowMs) const {
    int64_t s = static_cast<int64_t>((nowMs - sinceMs_ + 500) / 1000);
    return s < 1 ? 1 : s;
  }
  // The reading built from pendingWh()/intervalS(now) was stored.
  void recorded(uint64_t nowMs) {
    pendingWh_ = 0;
    sinceMs_ = nowMs;
  }
  // A reading of the first `ms` of the pending time, with `wh` of its energy,
  // was stored (SensorNode::recordMeter's slices of a wait longer than a day).
  void advance(uint64_t ms, int64_t wh) {
    sinceMs_ += ms;
    pendingWh_ -= wh;
  }

 private:
  PulseEnergy energy_;
  uint64_t sinceMs_;
  int64_t pendingWh_ = 0;
};

// The counter of a pulse input (PCNT on the ESP32) is 16-bit and wraps; this
// gives the pulses between two counter samples.
inline uint32_t pulsesBetween(uint16_t before, uint16_t after) { return static_cast<uint16_t>(after - before); }

}  // namespace cp
