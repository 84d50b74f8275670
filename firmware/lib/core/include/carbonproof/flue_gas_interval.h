// One flue-gas reading from the samples of an interval: each second the board
// reads the three sensors; a sample counts only when all three are valid, and
// the reading carries the integer means. Sensor faults seen during the
// interval are reported in the heartbeat.
#pragma once
#include <cstdint>
#include <optional>

#include "carbonproof/drivers/max31855.h"
#include "carbonproof/drivers/pitot.h"
#include "carbonproof/drivers/sdp8xx.h"
#include "carbonproof/drivers/senseair_s8.h"
#include "carbonproof/reading.h"

namespace cp {

struct DuctConfig {
  int64_t diameterMm = 600;
  int64_t pressurePa = 101325;  // absolute stack pressure (site value)
  pitot::Params pitot{840, 29000};
};

class FlueGasInterval {
 public:
  explicit FlueGasInterval(DuctConfig duct) : duct_(duct) {}
  void addSample(const s8::Co2Sample& co2, const max31855::Sample& tc, const sdp8xx::Sample& dp);
  // The reading's measurements, or nothing when no sample was valid; resets
  // for the next interval. faults() keeps the last interval's faults.
  std::optional<FlueGas> finish();
  uint32_t faults() const { return lastFaults_; }
  int64_t samples() const { return n_; }

 private:
  DuctConfig duct_;
  int64_t co2_ = 0, temp_ = 0, vel_ = 0, n_ = 0;
  uint32_t faults_ = 0, lastFaults_ = 0;
};

}  // namespace cp
