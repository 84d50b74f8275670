#include "sensors.h"

#include <SPI.h>
#include <Wire.h>

namespace cp::board {

void SenseairS8::begin(int rxPin, int txPin, uint32_t baud) {
  port_.begin(baud, SERIAL_8N1, rxPin, txPin);
  port_.setTimeout(200);
}

s8::Co2Sample SenseairS8::read(int64_t ppmPerCount) {
  while (port_.available()) port_.read();  // drop stale bytes
  auto req = s8::readInputRegistersRequest(s8::kAnyAddress, s8::kRegMeterStatus, 4);
  port_.write(req.data(), req.size());
  uint8_t resp[13];
  size_t n = port_.readBytes(resp, sizeof resp);  // 5 + 2·4 bytes, or 5 for an exception
  auto parsed = s8::parseReadInputRegisters(resp, n, s8::kAnyAddress, 4);
  if (parsed.error != s8::ParseError::None) return {};
  return s8::decodeStatusAndCo2(parsed.registers, ppmPerCount);
}

void Max31855::begin(int sck, int miso, int cs) {
  cs_ = cs;
  pinMode(cs_, OUTPUT);
  digitalWrite(cs_, HIGH);
  SPI.begin(sck, miso, -1, cs);
}

max31855::Sample Max31855::read() {
  SPI.beginTransaction(SPISettings(4000000, MSBFIRST, SPI_MODE0));
  digitalWrite(cs_, LOW);
  uint32_t frame = SPI.transfer32(0);
  digitalWrite(cs_, HIGH);
  SPI.endTransaction();
  return max31855::decode(frame);
}

bool Sdp810::begin(int sda, int scl) {
  Wire.begin(sda, scl, 100000);
  Wire.beginTransmission(sdp8xx::kI2cAddress);
  Wire.write(static_cast<uint8_t>(sdp8xx::kCmdContinuousMassFlowAvg >> 8));
  Wire.write(static_cast<uint8_t>(sdp8xx::kCmdContinuousMassFlowAvg & 0xFF));
  bool ok = Wire.endTransmission() == 0;
  delay(20);  // first measurement available after 8 ms
  return ok;
}

sdp8xx::Sample Sdp810::read() {
  uint8_t f[9];
  size_t n = Wire.requestFrom(static_cast<uint8_t>(sdp8xx::kI2cAddress), static_cast<uint8_t>(9));
  for (size_t i = 0; i < n && i < sizeof f; ++i) f[i] = static_cast<uint8_t>(Wire.read());
  return sdp8xx::decode(f, n);
}

namespace {
// In RTC slow memory, not initialised at boot: pulses counted before a crash,
// watchdog or software reset are still reported (a power cut loses them).
RTC_NOINIT_ATTR volatile uint32_t gPulses;
RTC_NOINIT_ATTR uint32_t gPulsesMagic;
constexpr uint32_t kPulsesMagic = 0x50554c53;  // "PULS"
volatile uint32_t gLastPulseMs = 0;
uint32_t gMinGapMs = 30;
portMUX_TYPE gMux = portMUX_INITIALIZER_UNLOCKED;
void IRAM_ATTR onPulse() {
  uint32_t now = millis();
  if (now - gLastPulseMs >= gMinGapMs) {
    gLastPulseMs = now;
    ++gPulses;
  }
}
}  // namespace

void PulseInput::begin(int pin, uint32_t minGapMs) {
  gMinGapMs = minGapMs;
  if (gPulsesMagic != kPulsesMagic) {  // power-on: RTC memory holds garbage
    gPulses = 0;
    gPulsesMagic = kPulsesMagic;
  }
  pinMode(pin, INPUT_PULLUP);
  attachInterrupt(digitalPinToInterrupt(pin), onPulse, FALLING);
}

uint32_t PulseInput::take() {
  portENTER_CRITICAL(&gMux);
  uint32_t n = gPulses;
  gPulses = 0;
  portEXIT_CRITICAL(&gMux);
  return n;
}

}  // namespace cp::board
