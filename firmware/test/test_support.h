// Helpers shared by the host tests: temp dirs, fake clock/transport standing
// in for millis() and WiFiClientSecure, and a fixed test key.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <deque>
#include <filesystem>
#include <string>
#include <vector>

#include "carbonproof/crypto.h"
#include "carbonproof/mqtt.h"
#include "carbonproof/node.h"

namespace cptest {

// A test that cannot run here (e.g. node_modules absent) calls skip(): the
// process then exits with 77, which ctest reports as skipped, not passed.
inline bool& skippedFlag() {
  static bool s = false;
  return s;
}
inline void skip(const std::string& why) {
  skippedFlag() = true;
  std::fprintf(stderr, "SKIPPED: %s\n", why.c_str());
}

// On tmpfs when available: the buffer and seq store fsync on every write,
// which on a busy CI disk made the model tests slow without testing more.
// Removed when the test process exits (test/main.cpp).
inline std::vector<std::string>& tempDirs() {
  static std::vector<std::string> dirs;
  return dirs;
}
inline std::string tempDir() {
  char shm[] = "/dev/shm/cp-fw-test-XXXXXX";
  char tmpl[] = "/tmp/cp-fw-test-XXXXXX";
  char* d = access("/dev/shm", W_OK) == 0 ? mkdtemp(shm) : nullptr;
  if (!d) d = mkdtemp(tmpl);
  if (!d) return std::string("/tmp");
  tempDirs().push_back(d);
  return std::string(d);
}
inline void removeTempDirs() {
  std::error_code ec;
  for (const auto& d : tempDirs()) std::filesystem::remove_all(d, ec);
  tempDirs().clear();
}

inline long fileSize(const std::string& p) {
  struct stat st;
  return stat(p.c_str(), &st) == 0 ? static_cast<long>(st.st_size) : -1;
}

struct FakeClock : cp::mqtt::Clock {
  uint64_t t = 1000;
  uint64_t nowMs() override { return t; }
};

struct FakeWall : cp::WallClock {
  bool set = true;
  int64_t now = 1763900000;
  bool timeSet() const override { return set; }
  int64_t unixSeconds() const override { return now; }
};

// A scripted broker end: records what the client wrote, feeds back what the
// test queues. Stands in for the TCP/TLS socket.
struct FakeTransport : cp::mqtt::Transport {
  bool acceptOpen = true;
  bool isOpen = false;
  int opens = 0;
  bool peerClosed = false;
  std::vector<cp::mqtt::Packet> sent;
  std::deque<uint8_t> inbound;
  cp::mqtt::Decoder dec;

  bool open(const std::string&, uint16_t) override {
    ++opens;
    isOpen = acceptOpen;
    peerClosed = false;
    inbound.clear();  // bytes never cross connections
    dec.reset();
    return acceptOpen;
  }
  bool write(const uint8_t* d, size_t n) override {
    if (!isOpen) return false;
    dec.feed(d, n);
    cp::mqtt::Packet p;
    while (dec.next(p) == 1) sent.push_back(p);
    return true;
  }
  int read(uint8_t* buf, size_t cap) override {
    if (!isOpen || peerClosed) return -1;
    size_t n = 0;
    while (n < cap && !inbound.empty()) {
      buf[n++] = inbound.front();
      inbound.pop_front();
    }
    return static_cast<int>(n);
  }
  void close() override {
    isOpen = false;
    inbound.clear();
  }

  void queue(const std::vector<uint8_t>& b) { inbound.insert(inbound.end(), b.begin(), b.end()); }
  void connack(uint8_t code = 0) { queue({0x20, 0x02, 0x00, code}); }
  void puback(uint16_t id) { queue(cp::mqtt::encodePuback(id)); }
  size_t count(uint8_t type) const {
    size_t c = 0;
    for (auto& p : sent) c += p.type == type;
    return c;
  }
  const cp::mqtt::Packet* last(uint8_t type) const {
    for (auto it = sent.rbegin(); it != sent.rend(); ++it)
      if (it->type == type) return &*it;
    return nullptr;
  }
};

// Parses a PUBLISH body: topic, packet id (QoS 1), payload.
inline void splitPublish(const cp::mqtt::Packet& p, std::string& topic, uint16_t& id, std::string& payload) {
  size_t tl = static_cast<size_t>(p.body[0] << 8 | p.body[1]);
  topic.assign(p.body.begin() + 2, p.body.begin() + 2 + static_cast<long>(tl));
  uint8_t qos = (p.flags >> 1) & 3;
  size_t off = 2 + tl;
  id = 0;
  if (qos) {
    id = static_cast<uint16_t>(p.body[off] << 8 | p.body[off + 1]);
    off += 2;
  }
  payload.assign(p.body.begin() + static_cast<long>(off), p.body.end());
}

}  // namespace cptest
