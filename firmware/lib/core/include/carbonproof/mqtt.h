// A small MQTT 3.1.1 client (CONNECT, PUBLISH QoS 0/1 with PUBACK, PINGREQ,
// DISCONNECT) as a poll-driven state machine over an abstract transport and
// clock, so the same logic runs on the ESP32 (WiFiClientSecure / esp-tls) and
// on the host (POSIX sockets), and is tested with a fake clock and transport.
//
// Reconnects use exponential backoff: backoffMinMs · 2^(failures-1), capped at
// backoffMaxMs, plus optional jitter; a CONNACK resets it. At most one QoS 1
// PUBLISH is in flight: store-and-forward (uplink.h) keeps the record until
// its PUBACK arrives, and after an ack timeout the connection is dropped and
// the record re-sent after reconnecting (the oracle ignores duplicates of a
// (deviceId, seq)).
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace cp::mqtt {

class Transport {
 public:
  virtual ~Transport() = default;
  // Opens the connection (TLS on the device); may block up to a few seconds.
  virtual bool open(const std::string& host, uint16_t port) = 0;
  // Writes all bytes or fails.
  virtual bool write(const uint8_t* data, size_t len) = 0;
  // Non-blocking read: bytes read, 0 if none available, -1 if closed/error.
  virtual int read(uint8_t* buf, size_t cap) = 0;
  virtual void close() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  virtual uint64_t nowMs() = 0;  // monotonic
};

// ---- packet codec ----------------------------------------------------------
enum PacketType : uint8_t {
  CONNECT = 1, CONNACK = 2, PUBLISH = 3, PUBACK = 4, SUBSCRIBE = 8, SUBACK = 9,
  PINGREQ = 12, PINGRESP = 13, DISCONNECT = 14,
};

struct ConnectOptions {
  std::string clientId;
  std::string username;
  std::string password;
  uint16_t keepAliveS = 30;
  bool cleanSession = true;
  std::string willTopic;    // optional last will (e.g. a retained "offline" status)
  std::string willPayload;
};

std::vector<uint8_t> encodeConnect(const ConnectOptions& o);
std::vector<uint8_t> encodePublish(const std::string& topic, const std::string& payload, uint8_t qos,
                                   uint16_t packetId, bool dup = false, bool retain = false);
std::vector<uint8_t> encodePuback(uint16_t packetId);
std::vector<uint8_t> encodePingreq();
std::vector<uint8_t> encodeDisconnect();
std::vector<uint8_t> encodeSubscribe(uint16_t packetId, const std::string& filter, uint8_t qos);

struct Packet {
  uint8_t type = 0;
  uint8_t flags = 0;
  std::vector<uint8_t> body;
};

// Incremental decoder: feed bytes, take whole packets.
class Decoder {
 public:
  // Packets larger than this are treated as a malformed stream (the device
  // only expects small acks and commands; bounds RAM on the ESP32).
  static constexpr size_t kMaxPacket = 16 * 1024;
  void feed(const uint8_t* data, size_t len) { buf_.insert(buf_.end(), data, data + len); }
  // 1: packet, 0: need more bytes, -1: malformed stream.
  int next(Packet& out);
  void reset() { buf_.clear(); }

 private:
  std::vector<uint8_t> buf_;
};

// ---- client ----------------------------------------------------------------
struct ClientConfig {
  std::string host = "127.0.0.1";
  uint16_t port = 1883;
  ConnectOptions connect;
  uint32_t backoffMinMs = 1000;
  uint32_t backoffMaxMs = 60000;
  uint32_t connackTimeoutMs = 10000;
  uint32_t ackTimeoutMs = 10000;  // PUBACK and PINGRESP
};

enum class State { Idle, Backoff, AwaitConnack, Connected };

class Client {
 public:
  Client(ClientConfig cfg, Transport& t, Clock& clock);

  // Optional jitter added to each backoff delay, given the base delay.
  void setJitter(std::function<uint32_t(uint32_t baseMs)> j) { jitter_ = std::move(j); }
  // Messages received on subscribed topics (e.g. commands).
  void onMessage(std::function<void(const std::string& topic, const std::string& payload)> cb) {
    onMessage_ = std::move(cb);
  }

  // Drives everything: connect/backoff, reads, keepalive, timeouts.
  void poll();
  void stop();  // sends DISCONNECT if connected, then idles

  State state() const { return state_; }
  bool connected() const { return state_ == State::Connected; }
  bool canPublishQos1() const { return connected() && !inflight_; }
  // QoS 1: returns the packet id (the caller waits for takeAcked()). Fails when
  // not connected or another QoS 1 publish is in flight.
  std::optional<uint16_t> publishQos1(const std::string& topic, const std::string& payload);
  bool publishQos0(const std::string& topic, const std::string& payload, bool retain = false);
  bool subscribe(const std::string& filter);
  // Packet id of a PUBACK received since the last call.
  std::optional<uint16_t> takeAcked();
  std::optional<uint16_t> inflight() const { return inflight_; }

  uint32_t failures() const { return failures_; }
  uint32_t currentBackoffMs() const { return backoffMs_; }
  uint64_t nextAttemptAtMs() const { return nextAttemptMs_; }
  uint64_t connects() const { return connects_; }
  const std::string& lastError() const { return lastError_; }

 private:
  void attempt();
  void fail(const std::string& why);
  bool send(const std::vector<uint8_t>& bytes);
  void handle(const Packet& p);

  ClientConfig cfg_;
  Transport& t_;
  Clock& clock_;
  Decoder dec_;
  State state_ = State::Idle;
  uint32_t failures_ = 0;
  uint32_t backoffMs_ = 0;
  uint64_t nextAttemptMs_ = 0;
  uint64_t stateSinceMs_ = 0;
  uint64_t lastSendMs_ = 0;
  std::optional<uint64_t> pingSentMs_;
  std::optional<uint16_t> inflight_;
  uint64_t inflightSinceMs_ = 0;
  std::optional<uint16_t> acked_;
  uint16_t nextPacketId_ = 1;
  uint64_t connects_ = 0;
  std::string lastError_;
  std::function<uint32_t(uint32_t)> jitter_;
  std::function<void(const std::string&, const std::string&)> onMessage_;
};

}  // namespace cp::mqtt
