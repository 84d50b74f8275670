#pragma once
#include "WiFi.h"
class WiFiClientSecure {
 public:
  void setCACert(const char* rootCA);
  void setTimeout(uint32_t seconds);
  void setHandshakeTimeout(unsigned long handshake_timeout);  // seconds
  int connect(const char* host, uint16_t port);
  uint8_t connected();
  int available();
  int read(uint8_t* buf, size_t size);
  size_t write(const uint8_t* buf, size_t size);
  void stop();
};
