#include "carbonproof/bigint.h"
#include "carbonproof/drivers/max31855.h"
#include "carbonproof/drivers/pitot.h"
#include "carbonproof/drivers/pulse_energy.h"
#include "carbonproof/drivers/sdp8xx.h"
#include "carbonproof/drivers/senseair_s8.h"

namespace cp {

// ---------------------------------------------------------------- Senseair S8
namespace s8 {

uint16_t crc16(const uint8_t* data, size_t len) {
  uint16_t crc = 0xFFFF;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 1) ? (crc >> 1) ^ 0xA001 : crc >> 1;
  }
  return crc;
}

std::vector<uint8_t> readInputRegistersRequest(uint8_t address, uint16_t firstReg, uint16_t count) {
  std::vector<uint8_t> f{address, 0x04, static_cast<uint8_t>(firstReg >> 8), static_cast<uint8_t>(firstReg),
                         static_cast<uint8_t>(count >> 8), static_cast<uint8_t>(count)};
  uint16_t c = crc16(f.data(), f.size());
  f.push_back(static_cast<uint8_t>(c));
  f.push_back(static_cast<uint8_t>(c >> 8));
  return f;
}

Response parseReadInputRegisters(const uint8_t* frame, size_t len, uint8_t address, uint16_t count) {
  Response r;
  if (len < 5) return r.error = ParseError::TooShort, r;
  // Exception responses are 5 bytes: addr, func|0x80, code, crc.
  size_t expect = (frame[1] & 0x80) ? 5 : 5 + 2u * count;
  if (len < expect) return r.error = ParseError::TooShort, r;
  uint16_t crc = crc16(frame, expect - 2);
  if (frame[expect - 2] != static_cast<uint8_t>(crc) || frame[expect - 1] != static_cast<uint8_t>(crc >> 8))
    return r.error = ParseError::BadCrc, r;
  if (address != kAnyAddress && frame[0] != address) return r.error = ParseError::WrongAddress, r;
  if (frame[1] == (0x04 | 0x80)) {
    r.error = ParseError::Exception;
    r.exceptionCode = frame[2];
    return r;
  }
  if (frame[1] != 0x04) return r.error = ParseError::WrongFunction, r;
  if (frame[2] != 2 * count) return r.error = ParseError::BadLength, r;
  for (uint16_t i = 0; i < count; ++i) r.registers.push_back(static_cast<uint16_t>(frame[3 + 2 * i] << 8 | frame[4 + 2 * i]));
  return r;
}

Co2Sample decodeStatusAndCo2(const std::vector<uint16_t>& regs, int64_t ppmPerCount) {
  Co2Sample s;
  if (regs.size() < 4) return s;
  s.status = regs[0];
  // IR4 is a signed 16-bit integer (two's complement), not unsigned: Senseair's
  // support, quoted in esphome/issues#1899, "CO2 readings can be negative if
  // calibration was wrong for longer time ... It should be the format of 2 bytes
  // signed integer"; esphome/esphome#6385 decodes it as int16_t for that reason.
  // Read unsigned, a drifted zero's -17 became 65 519 ppm with MeterStatus clear
  // (esphome/issues#5603), so the status bits alone do not catch it. Decoded
  // without relying on the implementation-defined uint16 -> int16 conversion.
  const int64_t counts = regs[3] < 0x8000 ? int64_t{regs[3]} : int64_t{regs[3]} - 0x10000;
  s.co2Ppm = counts * ppmPerCount;
  // MeterStatus fault bits are 0-6 (the StatusBit enum); the bits above them are
  // not faults on the S8 (Tasmota xsns_17_senseair.ino masks an S8's IR1 with 0x7F;
  // ESPHome's SenseAirStatus names bit 7 RESERVED).
  s.ok = (s.status & 0x7F) == 0 && counts >= 0;
  return s;
}

}  // namespace s8

// -------------------------------------------------------------------- MAX31855
namespace max31855 {

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Sample decode(uint32_t frame) {
  Sample s;
  s.fault = (frame >> 16) & 1;
  s.openCircuit = frame & 1;
  s.shortToGnd = (frame >> 1) & 1;
  s.shortToVcc = (frame >> 2) & 1;
  s.badFrame = frame == 0 || (frame & (1u << 17 | 1u << 3)) != 0;
  int32_t tc = static_cast<int32_t>(frame) >> 18;  // arithmetic shift keeps the sign of the 14-bit field
  int32_t cj = static_cast<int32_t>(frame << 16) >> 20;
  s.tempCentiC = static_cast<int64_t>(tc) * 25;
  s.internalCentiC = floorDiv(static_cast<int64_t>(cj) * 625, 100);
  return s;
}

}  // namespace max31855

// --------------------------------------------------------------------- SDP8xx
namespace sdp8xx {

uint8_t crc8(const uint8_t* data, size_t len) {
  uint8_t crc = 0xFF;
  for (size_t i = 0; i < len; ++i) {
    crc ^= data[i];
    for (int k = 0; k < 8; ++k) crc = (crc & 0x80) ? static_cast<uint8_t>((crc << 1) ^ 0x31) : static_cast<uint8_t>(crc << 1);
  }
  return crc;
}

static int64_t floorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

Sample decode(const uint8_t* f, size_t len) {
  Sample s;
  if (len < 9) return s;
  for (int w = 0; w < 3; ++w)
    if (crc8(f + 3 * w, 2) != f[3 * w + 2]) return s;
  s.dpRaw = static_cast<int16_t>(f[0] << 8 | f[1]);
  s.tempRaw = static_cast<int16_t>(f[3] << 8 | f[4]);
  s.dpScale = static_cast<uint16_t>(f[6] << 8 | f[7]);
  if (s.dpScale == 0) return s;
  s.dpMilliPa = floorDiv(static_cast<int64_t>(s.dpRaw) * 1000, s.dpScale);
  s.tempCentiC = floorDiv(static_cast<int64_t>(s.tempRaw) * 100, 200);  // 200 counts per °C
  s.ok = true;
  return s;
}

}  // namespace sdp8xx

// ---------------------------------------------------------------------- pitot
namespace pitot {

uint64_t isqrt(uint64_t n) {
  // Digit-by-digit (base 4): no division, no overflow near UINT64_MAX.
  uint64_t res = 0, bit = uint64_t{1} << 62;
  while (bit > n) bit >>= 2;
  while (bit) {
    if (n >= res + bit) {
      n -= res + bit;
      res = (res >> 1) + bit;
    } else {
      res >>= 1;
    }
    bit >>= 2;
  }
  return res;
}

bool velocityMmS(int64_t dpMilliPa, int64_t tempCentiC, int64_t pressurePa, const Params& p, int64_t& out) {
  if (tempCentiC <= -27315 || pressurePa <= 0 || p.molarMassMgPerMol <= 0 || p.coefficientPermille < 0) return false;
  if (dpMilliPa <= 0) {
    out = 0;
    return true;
  }
  BigInt num(static_cast<uint64_t>(dpMilliPa));
  num.mul(2).mul(8314462618ULL).mul(static_cast<uint64_t>(tempCentiC + 27315))
      .mul(static_cast<uint64_t>(p.coefficientPermille))
      .mul(static_cast<uint64_t>(p.coefficientPermille));
  BigInt den(100000000ULL);
  den.mul(static_cast<uint64_t>(pressurePa)).mul(static_cast<uint64_t>(p.molarMassMgPerMol));
  num.div(den);
  uint64_t v2;
  if (!num.toU64(v2)) return false;
  out = static_cast<int64_t>(isqrt(v2));
  return true;
}

}  // namespace pitot

// --------------------------------------------------------------- pulse energy
int64_t PulseEnergy::addPulses(uint64_t pulses) {
  // 1 pulse = 1000 / impPerKwh Wh; keep everything in 1/impPerKwh Wh.
  uint64_t total = carry_ + pulses * 1000;
  carry_ = total % impPerKwh_;
  return static_cast<int64_t>(total / impPerKwh_);
}

}  // namespace cp
