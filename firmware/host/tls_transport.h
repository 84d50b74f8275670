// MQTT over TLS on the host with mbedTLS (the ESP32 uses WiFiClientSecure,
// which is mbedTLS too). The broker is authenticated against a CA file and
// its certificate must name the host connected to.
#pragma once
#include <memory>
#include <string>

#include "carbonproof/mqtt.h"

namespace cp::host {

class TlsTransport final : public mqtt::Transport {
 public:
  explicit TlsTransport(std::string caFile);
  ~TlsTransport() override;
  bool open(const std::string& host, uint16_t port) override;
  bool write(const uint8_t* data, size_t len) override;
  int read(uint8_t* buf, size_t cap) override;
  void close() override;
  const std::string& lastError() const { return err_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string caFile_;
  std::string err_;
};

}  // namespace cp::host
