// Sensirion SDP8xx differential-pressure sensor (e.g. SDP810-500Pa) over I2C:
// readout of the continuous measurement (datasheet §5.3): three 16-bit words
// (Δp, temperature, scale factor), each followed by CRC-8 (poly 0x31, init 0xFF).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cp::sdp8xx {

constexpr uint8_t kI2cAddress = 0x25;
// "Start continuous measurement, mass-flow temperature compensation, average till read".
constexpr uint16_t kCmdContinuousMassFlowAvg = 0x3603;

uint8_t crc8(const uint8_t* data, size_t len);

struct Sample {
  bool ok = false;
  int16_t dpRaw = 0;
  int16_t tempRaw = 0;
  uint16_t dpScale = 0;       // counts per Pa (60 for SDP810-500Pa)
  int64_t dpMilliPa = 0;      // floor(dpRaw · 1000 / dpScale)
  int64_t tempCentiC = 0;     // floor(tempRaw · 100 / 200)
};

// frame: the 9 bytes read after the measurement command.
Sample decode(const uint8_t* frame, size_t len);

}  // namespace cp::sdp8xx
