// Host (Linux) implementations of the core's platform interfaces: a TCP
// transport over POSIX sockets, the monotonic clock and the system wall clock.
// On the ESP32 the same roles are played by src/board/ (WiFiClientSecure,
// millis(), SNTP).
#pragma once
#include "carbonproof/mqtt.h"
#include "carbonproof/node.h"

namespace cp::host {

class TcpTransport final : public mqtt::Transport {
 public:
  ~TcpTransport() override { close(); }
  bool open(const std::string& host, uint16_t port) override;
  bool write(const uint8_t* data, size_t len) override;
  int read(uint8_t* buf, size_t cap) override;
  void close() override;

 private:
  int fd_ = -1;
};

class SteadyClock final : public mqtt::Clock {
 public:
  uint64_t nowMs() override;
};

class SystemWallClock final : public WallClock {
 public:
  bool timeSet() const override { return true; }
  int64_t unixSeconds() const override;
};

bool readFile(const std::string& path, std::string& out);
bool writeFile(const std::string& path, const std::string& data);

}  // namespace cp::host
