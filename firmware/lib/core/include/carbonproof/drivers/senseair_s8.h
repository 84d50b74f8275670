// Senseair S8 (and the K30/K33 family, same Modbus RTU map) over UART:
// frame building and parsing with CRC. The UART itself is board glue.
//
// Flue gas from biomass boilers is several % CO2: use a high-range variant and
// set ppmPerCount to the variant's scale (1 for the 0–10 000 ppm S8; the
// high-range K33 models report in units of 10 ppm, see their Modbus manual).
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cp::s8 {

constexpr uint8_t kAnyAddress = 0xFE;  // "any sensor" address from the Senseair manual
constexpr uint16_t kRegMeterStatus = 0x0000;  // IR1
constexpr uint16_t kRegCo2 = 0x0003;          // IR4, space CO2: signed 16-bit, see decodeStatusAndCo2

// Modbus RTU CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first.
uint16_t crc16(const uint8_t* data, size_t len);

// Function 0x04 "read input registers" request, 8 bytes including CRC.
std::vector<uint8_t> readInputRegistersRequest(uint8_t address, uint16_t firstReg, uint16_t count);

enum class ParseError { None, TooShort, BadCrc, WrongAddress, WrongFunction, Exception, BadLength };

struct Response {
  ParseError error = ParseError::None;
  uint8_t exceptionCode = 0;  // set when error == Exception
  std::vector<uint16_t> registers;
};

// Parses a response to readInputRegistersRequest(address, _, count).
Response parseReadInputRegisters(const uint8_t* frame, size_t len, uint8_t address, uint16_t count);

// Meter status bits (IR1); any set bit is a sensor fault to report.
enum StatusBit : uint16_t {
  kFatalError = 1 << 0,
  kOffsetRegulationError = 1 << 1,
  kAlgorithmError = 1 << 2,
  kOutputError = 1 << 3,
  kSelfDiagnosticsError = 1 << 4,
  kOutOfRange = 1 << 5,
  kMemoryError = 1 << 6,
};

struct Co2Sample {
  bool ok = false;       // CO2 value usable: status has no fault bits and IR4 is not negative
  uint16_t status = 0;   // IR1
  int64_t co2Ppm = 0;    // IR4 (signed 16-bit) × ppmPerCount; negative only when !ok
};

// Interprets registers IR1..IR4 read in one request (firstReg 0, count 4).
// A negative IR4 (a zero drifted below the gas) is a sensor fault like a status
// bit: ok is false, so the sample never reaches a reading.
Co2Sample decodeStatusAndCo2(const std::vector<uint16_t>& ir1to4, int64_t ppmPerCount);

}  // namespace cp::s8
