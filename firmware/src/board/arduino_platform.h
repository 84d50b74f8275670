// Board implementations of the core's platform interfaces (ESP32, Arduino core).
#pragma once
#include <WiFiClientSecure.h>

#include "carbonproof/mqtt.h"
#include "carbonproof/node.h"
#include "carbonproof/seq_store.h"

namespace cp::board {

// MQTT over TLS (WiFiClientSecure on mbedTLS). With a CA certificate set the
// broker is authenticated; without one the link is refused (no insecure mode).
class TlsTransport final : public mqtt::Transport {
 public:
  void setCaCert(const char* pem) { ca_ = pem; }
  bool open(const std::string& host, uint16_t port) override;
  bool write(const uint8_t* data, size_t len) override;
  int read(uint8_t* buf, size_t cap) override;
  void close() override;

 private:
  WiFiClientSecure client_;
  const char* ca_ = nullptr;
};

class MonotonicClock final : public mqtt::Clock {
 public:
  uint64_t nowMs() override;  // esp_timer, 64-bit: no millis() wrap after 49 days
};

// Wall clock that reports "set" only after the first SNTP synchronisation.
class SntpClock final : public WallClock {
 public:
  void begin(const char* server1, const char* server2);
  bool timeSet() const override;
  int64_t unixSeconds() const override;
};

// Seq high-water mark in NVS (power-loss safe per key; nvs_commit on each store).
// main.cpp mirrors it in LittleFS (MirroredSeqBackend): the Arduino core may
// erase NVS at boot.
class NvsSeqBackend final : public SeqBackend {
 public:
  bool load(bool& found, int64_t& mark) override;
  bool store(int64_t mark) override;
};

// Software device key (PKCS#8 PEM) in NVS: a separate partition from LittleFS,
// so `pio run -t uploadfs` never erases it. Not encrypted in this build (the
// prebuilt Arduino core has no NVS encryption): anyone with the board can read
// it from flash; the ATECC608 build is the production choice (docs/firmware.md).
// Absent only on a device that never stored a key, or whose NVS the core erased
// (main.cpp refuses to replace a key LittleFS shows it had); NvsError when NVS
// cannot be read (a new key must then not be generated over the registered one).
enum class KeyLoad { Found, Absent, NvsError };
KeyLoad loadKeyPem(std::string& pem);
bool storeKeyPem(const std::string& pem);

}  // namespace cp::board
