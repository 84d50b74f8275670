#include "carbonproof/flue_gas_interval.h"

#include "carbonproof/node.h"

namespace cp {

void FlueGasInterval::addSample(const s8::Co2Sample& co2, const max31855::Sample& tc, const sdp8xx::Sample& dp) {
  if (!co2.ok) faults_ |= kFaultCo2;
  if (!tc.ok()) faults_ |= kFaultThermocouple;
  if (!dp.ok) faults_ |= kFaultPressure;
  if (!co2.ok || !tc.ok() || !dp.ok) return;
  int64_t v = 0;
  if (!pitot::velocityMmS(dp.dpMilliPa, tc.tempCentiC, duct_.pressurePa, duct_.pitot, v)) {
    faults_ |= kFaultPressure;
    return;
  }
  co2_ += co2.co2Ppm;
  temp_ += tc.tempCentiC;
  vel_ += v;
  ++n_;
}

std::optional<FlueGas> FlueGasInterval::finish() {
  std::optional<FlueGas> out;
  if (n_ > 0) {
    FlueGas m;
    m.co2Ppm = co2_ / n_;
    m.tempCentiC = temp_ / n_;
    m.velocityMmS = vel_ / n_;
    m.pressurePa = duct_.pressurePa;
    m.ductDiameterMm = duct_.diameterMm;
    out = m;
  }
  lastFaults_ = faults_;
  co2_ = temp_ = vel_ = n_ = 0;
  faults_ = 0;
  return out;
}

}  // namespace cp
