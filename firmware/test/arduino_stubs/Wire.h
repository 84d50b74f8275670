#pragma once
#include "Arduino.h"
class TwoWire : public Stream {
 public:
  bool begin(int sda, int scl, uint32_t frequency = 0);
  void beginTransmission(uint8_t address);
  uint8_t endTransmission(bool sendStop = true);
  size_t write(uint8_t);
  uint8_t requestFrom(uint8_t address, uint8_t size);
  uint8_t requestFrom(uint16_t address, uint8_t size);
  uint8_t requestFrom(int address, int size);
  int available() override;
  int read() override;
};
extern TwoWire Wire;
