#include <doctest/doctest.h>

#include "carbonproof/drivers/max31855.h"
#include "carbonproof/flue_gas_interval.h"
#include "carbonproof/node.h"
#include "carbonproof/drivers/pitot.h"
#include "carbonproof/drivers/pulse_energy.h"
#include "carbonproof/drivers/sdp8xx.h"
#include "carbonproof/drivers/senseair_s8.h"

using namespace cp;

TEST_CASE("senseair s8 request frame matches the manual (FE 04 00 03 00 01 D5 C5)") {
  auto f = s8::readInputRegistersRequest(0xFE, s8::kRegCo2, 1);
  CHECK(f == std::vector<uint8_t>{0xFE, 0x04, 0x00, 0x03, 0x00, 0x01, 0xD5, 0xC5});
}

TEST_CASE("senseair s8 response parsing: value - bad CRC - exception - short frame") {
  const uint8_t ok[] = {0xFE, 0x04, 0x02, 0x01, 0x90, 0xAC, 0xD8};  // 400 ppm, from the S8 Modbus manual
  auto r = s8::parseReadInputRegisters(ok, sizeof ok, 0xFE, 1);
  REQUIRE(r.error == s8::ParseError::None);
  CHECK(r.registers.at(0) == 400);
  uint8_t bad[sizeof ok];
  std::copy(ok, ok + sizeof ok, bad);
  bad[4] ^= 0x01;
  CHECK(s8::parseReadInputRegisters(bad, sizeof bad, 0xFE, 1).error == s8::ParseError::BadCrc);
  CHECK(s8::parseReadInputRegisters(ok, 4, 0xFE, 1).error == s8::ParseError::TooShort);
  uint8_t ex[5] = {0xFE, 0x84, 0x02, 0, 0};
  uint16_t c = s8::crc16(ex, 3);
  ex[3] = static_cast<uint8_t>(c);
  ex[4] = static_cast<uint8_t>(c >> 8);
  auto e = s8::parseReadInputRegisters(ex, 5, 0xFE, 1);
  CHECK(e.error == s8::ParseError::Exception);
  CHECK(e.exceptionCode == 2);
}

TEST_CASE("senseair s8 status and co2 decoding flags faults and applies the range scale") {
  auto s = s8::decodeStatusAndCo2({0, 0, 0, 4100}, 10);
  CHECK(s.ok);
  CHECK(s.co2Ppm == 41000);
  auto f = s8::decodeStatusAndCo2({s8::kOutOfRange, 0, 0, 4100}, 10);
  CHECK_FALSE(f.ok);
  CHECK_FALSE(s8::decodeStatusAndCo2({0, 0}, 1).ok);
}

TEST_CASE("senseair s8 refuses a negative IR4 (FF EF = -17, status clear) as a fault - not 65 519 ppm") {
  // IR1..IR4 as an S8 sends them when its zero has drifted: MeterStatus 0, Space CO2 0xFFEF.
  // The value and clear status are those logged in esphome/issues#5603 ("CO2=65519ppm Status=0x00").
  const uint8_t frame[] = {0xFE, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xEF, 0x17, 0x66};
  auto r = s8::parseReadInputRegisters(frame, sizeof frame, s8::kAnyAddress, 4);
  REQUIRE(r.error == s8::ParseError::None);
  auto s = s8::decodeStatusAndCo2(r.registers, 1);
  CHECK(s.status == 0);
  CHECK_FALSE(s.ok);
  CHECK(s.co2Ppm == -17);

  // Nor does it reach a reading: the sample is dropped and the interval reports a CO2 fault.
  FlueGasInterval fi(DuctConfig{600, 101325, {1000, 28965}});
  sdp8xx::Sample dp;
  dp.ok = true;
  dp.dpMilliPa = 25000;
  fi.addSample(s, max31855::decode(0x01900000u), dp);
  CHECK_FALSE(fi.finish());
  CHECK(fi.faults() == kFaultCo2);
}

TEST_CASE("senseair s8 IR4 sign boundary: 7F FF is 32 767 counts - 80 00 and FF FF are negative faults - 0 is a value") {
  const uint8_t max[] = {0xFE, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0x77, 0x6A};
  auto rMax = s8::parseReadInputRegisters(max, sizeof max, s8::kAnyAddress, 4);
  REQUIRE(rMax.error == s8::ParseError::None);
  auto sMax = s8::decodeStatusAndCo2(rMax.registers, 10);
  CHECK(sMax.ok);
  CHECK(sMax.co2Ppm == 327670);

  const uint8_t min[] = {0xFE, 0x04, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x76, 0xDA};
  auto rMin = s8::parseReadInputRegisters(min, sizeof min, s8::kAnyAddress, 4);
  REQUIRE(rMin.error == s8::ParseError::None);
  auto sMin = s8::decodeStatusAndCo2(rMin.registers, 10);
  CHECK_FALSE(sMin.ok);
  CHECK(sMin.co2Ppm == -327680);

  CHECK_FALSE(s8::decodeStatusAndCo2({0, 0, 0, 0xFFFF}, 1).ok);
  auto zero = s8::decodeStatusAndCo2({0, 0, 0, 0}, 1);
  CHECK(zero.ok);
  CHECK(zero.co2Ppm == 0);
}

TEST_CASE("max31855 frame decoding: datasheet temperatures and fault bits") {
  // MAX31855 datasheet Table 2 (thermocouple) and Table 4 (cold junction).
  CHECK(max31855::decode(0x64000000u).tempCentiC == 160000);  // +1600.00 °C
  CHECK(max31855::decode(0x01900000u).tempCentiC == 2500);    // +25.00 °C
  CHECK(max31855::decode(0xFFFC0000u).tempCentiC == -25);     // -0.25 °C
  CHECK(max31855::decode(0xF0600000u).tempCentiC == -25000);  // -250.00 °C
  CHECK(max31855::decode(0x7F00u).internalCentiC == 12700);   // +127.0000 °C
  CHECK(max31855::decode(0xC900u).internalCentiC == -5500);   // -55.0000 °C
  CHECK(max31855::decode(0x1900u).internalCentiC == 2500);    // +25.0000 °C
  auto ok = max31855::decode(0x01900000u);
  CHECK(ok.ok());
  auto oc = max31855::decode(0x00010001u);
  CHECK_FALSE(oc.ok());
  CHECK(oc.openCircuit);
  auto sc = max31855::decode(0x00010006u);
  CHECK(sc.shortToGnd);
  CHECK(sc.shortToVcc);
}

TEST_CASE("max31855 frame no chip sends is a fault - not 0 degrees C") {
  // Found in review: an all-zero frame (board unplugged, MISO stuck low) decoded
  // as a valid 0 °C, and the flue-gas formula scales CO2 mass with 1/sqrt(T).
  CHECK_FALSE(max31855::decode(0x00000000u).ok());
  CHECK(max31855::decode(0x00000000u).badFrame);
  CHECK_FALSE(max31855::decode(0xFFFFFFFFu).ok());             // MISO floating high
  CHECK_FALSE(max31855::decode(0x01900000u | 1u << 17).ok());  // reserved D17
  CHECK_FALSE(max31855::decode(0x01900000u | 1u << 3).ok());   // reserved D3
  // real frames stay good: 0.25 °C hot junction, 25 °C cold junction alone, and negatives
  CHECK(max31855::decode(0x00040000u).ok());
  CHECK(max31855::decode(0x00001900u).ok());
  CHECK(max31855::decode(0xFFFC0000u).ok());
  // and the interval counts such a sample as a thermocouple fault, not a reading
  FlueGasInterval fi(DuctConfig{600, 101325, {1000, 28965}});
  sdp8xx::Sample dp;
  dp.ok = true;
  dp.dpMilliPa = 25000;
  fi.addSample(s8::Co2Sample{true, 0, 41000}, max31855::decode(0), dp);
  CHECK(fi.samples() == 0);
  CHECK_FALSE(fi.finish());
  CHECK(fi.faults() == kFaultThermocouple);
}

TEST_CASE("sdp8xx crc8 and readout decoding") {
  const uint8_t beef[] = {0xBE, 0xEF};
  CHECK(sdp8xx::crc8(beef, 2) == 0x92);  // Sensirion datasheet example
  // Δp = 1500 counts at scale 60 → 25 Pa; temperature 4000 counts → 20 °C.
  uint8_t f[9] = {0x05, 0xDC, 0, 0x0F, 0xA0, 0, 0x00, 0x3C, 0};
  f[2] = sdp8xx::crc8(f, 2);
  f[5] = sdp8xx::crc8(f + 3, 2);
  f[8] = sdp8xx::crc8(f + 6, 2);
  auto s = sdp8xx::decode(f, 9);
  REQUIRE(s.ok);
  CHECK(s.dpMilliPa == 25000);
  CHECK(s.tempCentiC == 2000);
  f[1] ^= 1;
  CHECK_FALSE(sdp8xx::decode(f, 9).ok);
}

TEST_CASE("pitot velocity: air at 20 C and 25 Pa is 6.44 m/s - reverse flow is 0") {
  int64_t v = 0;
  pitot::Params air;
  REQUIRE(pitot::velocityMmS(25000, 2000, 101325, air, v));
  CHECK(v == 6443);  // sqrt(2·25 / 1.2041) = 6.4437 m/s
  pitot::Params sType{840, 29000};
  REQUIRE(pitot::velocityMmS(25000, 18550, 101325, sType, v));
  CHECK(v > 6000);
  CHECK(v < 7000);
  REQUIRE(pitot::velocityMmS(-500, 2000, 101325, air, v));
  CHECK(v == 0);
  CHECK_FALSE(pitot::velocityMmS(25000, -27315, 101325, air, v));
  CHECK(pitot::isqrt(0) == 0);
  CHECK(pitot::isqrt(15) == 3);
  CHECK(pitot::isqrt(16) == 4);
  CHECK(pitot::isqrt(UINT64_MAX) == 4294967295ULL);
}

TEST_CASE("pulse energy carries fractions: 800 imp/kWh is 1.25 Wh per pulse") {
  PulseEnergy e(800);
  CHECK(e.addPulses(1) == 1);  // 1.25 → 1, carry 0.25
  CHECK(e.addPulses(3) == 4);  // 0.25 + 3.75 = 4.0
  CHECK(e.carry() == 0);
  int64_t total = 0;
  for (int i = 0; i < 800; ++i) total += e.addPulses(1);
  CHECK(total == 1000);  // one kWh exactly, nothing lost
  PulseEnergy one(1000);
  CHECK(one.addPulses(12345) == 12345);
  CHECK(pulsesBetween(65530, 4) == 10);  // 16-bit counter wrap
}

TEST_CASE("meter interval keeps energy pending until a reading is recorded") {
  MeterInterval m(1000, 10000);
  m.addPulses(300);
  CHECK(m.pendingWh() == 300);
  CHECK(m.intervalS(10000 + 900000) == 900);
  // Clock not set at 900 s: nothing recorded, pulses keep adding up.
  m.addPulses(200);
  CHECK(m.pendingWh() == 500);
  CHECK(m.intervalS(10000 + 1800000) == 1800);  // the next reading covers both intervals
  m.recorded(10000 + 1800000);
  CHECK(m.pendingWh() == 0);
  CHECK(m.intervalS(10000 + 1800000) == 1);
  MeterInterval frac(800, 0);
  frac.addPulses(1);  // 1.25 Wh: 1 now, the quarter carried
  CHECK(frac.pendingWh() == 1);
  frac.addPulses(3);
  CHECK(frac.pendingWh() == 5);
}

TEST_CASE("flue-gas interval averages valid samples and reports sensor faults") {
  FlueGasInterval fi(DuctConfig{600, 101325, {1000, 28965}});
  s8::Co2Sample co2{true, 0, 41000};
  max31855::Sample tc = max31855::decode(0x01900000u);  // 25 °C
  sdp8xx::Sample dp;
  dp.ok = true;
  dp.dpMilliPa = 25000;
  fi.addSample(co2, tc, dp);
  co2.co2Ppm = 42000;
  fi.addSample(co2, tc, dp);
  max31855::Sample open = max31855::decode(0x00010001u);
  fi.addSample(co2, open, dp);  // thermocouple open: sample not counted
  CHECK(fi.samples() == 2);
  auto m = fi.finish();
  REQUIRE(m);
  CHECK(m->co2Ppm == 41500);
  CHECK(m->tempCentiC == 2500);
  CHECK(m->velocityMmS > 6400);
  CHECK(m->velocityMmS < 6600);
  CHECK(m->pressurePa == 101325);
  CHECK(m->ductDiameterMm == 600);
  CHECK(fi.faults() == kFaultThermocouple);
  CHECK_FALSE(fi.finish());  // nothing sampled: no reading, faults cleared
  CHECK(fi.faults() == 0);
  fi.addSample(s8::Co2Sample{}, tc, dp);
  CHECK_FALSE(fi.finish());
  CHECK(fi.faults() == kFaultCo2);
}
