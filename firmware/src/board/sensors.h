// I/O glue for the sensors: bytes in and out of UART/SPI/I2C/GPIO. All parsing
// and scaling is in the portable core (carbonproof/drivers/*), host-tested.
#pragma once
#include <Arduino.h>

#include "carbonproof/drivers/max31855.h"
#include "carbonproof/drivers/pulse_energy.h"
#include "carbonproof/drivers/sdp8xx.h"
#include "carbonproof/drivers/senseair_s8.h"

namespace cp::board {

class SenseairS8 {
 public:
  explicit SenseairS8(HardwareSerial& port) : port_(port) {}
  void begin(int rxPin, int txPin, uint32_t baud);
  // Reads IR1..IR4 (status + CO2) in one Modbus request.
  s8::Co2Sample read(int64_t ppmPerCount);

 private:
  HardwareSerial& port_;
};

class Max31855 {
 public:
  void begin(int sck, int miso, int cs);
  max31855::Sample read();

 private:
  int cs_ = -1;
};

class Sdp810 {
 public:
  bool begin(int sda, int scl);  // starts continuous measurement
  sdp8xx::Sample read();
};

// S0 pulse input counted in an interrupt with a minimum gap (debounce).
class PulseInput {
 public:
  void begin(int pin, uint32_t minGapMs);
  uint32_t take();  // pulses since the last call
};

}  // namespace cp::board
