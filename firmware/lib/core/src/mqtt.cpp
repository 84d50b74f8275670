#include "carbonproof/mqtt.h"

namespace cp::mqtt {
namespace {

void putStr(std::vector<uint8_t>& b, const std::string& s) {
  b.push_back(static_cast<uint8_t>(s.size() >> 8));
  b.push_back(static_cast<uint8_t>(s.size()));
  b.insert(b.end(), s.begin(), s.end());
}

std::vector<uint8_t> frame(uint8_t typeAndFlags, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out{typeAndFlags};
  size_t len = body.size();
  do {  // remaining length, 7 bits per byte
    uint8_t d = len % 128;
    len /= 128;
    if (len) d |= 0x80;
    out.push_back(d);
  } while (len);
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

}  // namespace

std::vector<uint8_t> encodeConnect(const ConnectOptions& o) {
  std::vector<uint8_t> b;
  putStr(b, "MQTT");
  b.push_back(4);  // protocol level 3.1.1
  uint8_t flags = o.cleanSession ? 0x02 : 0;
  if (!o.willTopic.empty()) flags |= 0x04;
  if (!o.username.empty()) flags |= 0x80;
  if (!o.password.empty()) flags |= 0x40;
  b.push_back(flags);
  b.push_back(static_cast<uint8_t>(o.keepAliveS >> 8));
  b.push_back(static_cast<uint8_t>(o.keepAliveS));
  putStr(b, o.clientId);
  if (!o.willTopic.empty()) {
    putStr(b, o.willTopic);
    putStr(b, o.willPayload);
  }
  if (!o.username.empty()) putStr(b, o.username);
  if (!o.password.empty()) putStr(b, o.password);
  return frame(CONNECT << 4, b);
}

std::vector<uint8_t> encodePublish(const std::string& topic, const std::string& payload, uint8_t qos,
                                   uint16_t packetId, bool dup, bool retain) {
  std::vector<uint8_t> b;
  putStr(b, topic);
  if (qos > 0) {
    b.push_back(static_cast<uint8_t>(packetId >> 8));
    b.push_back(static_cast<uint8_t>(packetId));
  }
  b.insert(b.end(), payload.begin(), payload.end());
  uint8_t h = static_cast<uint8_t>(PUBLISH << 4 | (dup ? 0x08 : 0) | (qos & 3) << 1 | (retain ? 1 : 0));
  return frame(h, b);
}

std::vector<uint8_t> encodePuback(uint16_t id) {
  return frame(PUBACK << 4, {static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)});
}
std::vector<uint8_t> encodePingreq() { return frame(PINGREQ << 4, {}); }
std::vector<uint8_t> encodeDisconnect() { return frame(DISCONNECT << 4, {}); }
std::vector<uint8_t> encodeSubscribe(uint16_t id, const std::string& filter, uint8_t qos) {
  std::vector<uint8_t> b{static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id)};
  putStr(b, filter);
  b.push_back(qos);
  return frame(SUBSCRIBE << 4 | 0x02, b);
}

int Decoder::next(Packet& out) {
  if (buf_.size() < 2) return 0;
  size_t len = 0, mult = 1, i = 1;
  for (;; ++i) {
    if (i > 4) return -1;
    if (i >= buf_.size()) return 0;
    len += (buf_[i] & 0x7F) * mult;
    mult *= 128;
    if (!(buf_[i] & 0x80)) break;
  }
  if (len > Decoder::kMaxPacket) return -1;
  size_t total = i + 1 + len;
  if (buf_.size() < total) return 0;
  out.type = buf_[0] >> 4;
  out.flags = buf_[0] & 0x0F;
  out.body.assign(buf_.begin() + static_cast<long>(i + 1), buf_.begin() + static_cast<long>(total));
  buf_.erase(buf_.begin(), buf_.begin() + static_cast<long>(total));
  return 1;
}

Client::Client(ClientConfig cfg, Transport& t, Clock& clock) : cfg_(std::move(cfg)), t_(t), clock_(clock) {}

bool Client::send(const std::vector<uint8_t>& bytes) {
  if (!t_.write(bytes.data(), bytes.size())) {
    fail("write failed");
    return false;
  }
  lastSendMs_ = clock_.nowMs();
  return true;
}

void Client::fail(const std::string& why) {
  lastError_ = why;
  t_.close();
  dec_.reset();
  inflight_.reset();
  pingSentMs_.reset();
  ++failures_;
  uint64_t d = cfg_.backoffMinMs;
  for (uint32_t k = 1; k < failures_ && d < cfg_.backoffMaxMs; ++k) d *= 2;
  if (d > cfg_.backoffMaxMs) d = cfg_.backoffMaxMs;
  backoffMs_ = static_cast<uint32_t>(d);
  uint32_t j = jitter_ ? jitter_(backoffMs_) : 0;
  nextAttemptMs_ = clock_.nowMs() + backoffMs_ + j;
  state_ = State::Backoff;
}

void Client::attempt() {
  if (!t_.open(cfg_.host, cfg_.port)) {
    fail("cannot connect to " + cfg_.host + ":" + std::to_string(cfg_.port));
    return;
  }
  state_ = State::AwaitConnack;
  stateSinceMs_ = clock_.nowMs();
  send(encodeConnect(cfg_.connect));
}

void Client::poll() {
  uint64_t now = clock_.nowMs();
  if (state_ == State::Idle || (state_ == State::Backoff && now >= nextAttemptMs_)) {
    attempt();
    return;
  }
  if (state_ == State::Backoff) return;

  uint8_t buf[512];
  for (;;) {
    int n = t_.read(buf, sizeof buf);
    if (n < 0) return fail("connection closed by peer");
    if (n == 0) break;
    dec_.feed(buf, static_cast<size_t>(n));
  }
  Packet p;
  int r;
  while ((r = dec_.next(p)) == 1) {
    handle(p);
    if (state_ == State::Backoff) return;
  }
  if (r < 0) return fail("malformed packet from broker");

  now = clock_.nowMs();
  if (state_ == State::AwaitConnack) {
    if (now - stateSinceMs_ >= cfg_.connackTimeoutMs) fail("no CONNACK");
    return;
  }
  if (inflight_ && now - inflightSinceMs_ >= cfg_.ackTimeoutMs) return fail("no PUBACK");
  if (pingSentMs_ && now - *pingSentMs_ >= cfg_.ackTimeoutMs) return fail("no PINGRESP");
  if (cfg_.connect.keepAliveS && !pingSentMs_ && now - lastSendMs_ >= uint64_t{cfg_.connect.keepAliveS} * 1000 * 3 / 4) {
    if (send(encodePingreq())) pingSentMs_ = now;
  }
}

void Client::handle(const Packet& p) {
  switch (p.type) {
    case CONNACK:
      if (state_ != State::AwaitConnack || p.body.size() != 2) return fail("unexpected CONNACK");
      if (p.body[1] != 0) return fail("broker refused connection, CONNACK code " + std::to_string(p.body[1]));
      state_ = State::Connected;
      failures_ = 0;
      backoffMs_ = 0;
      ++connects_;
      return;
    case PUBACK: {
      if (p.body.size() != 2) return fail("bad PUBACK");
      uint16_t id = static_cast<uint16_t>(p.body[0] << 8 | p.body[1]);
      if (inflight_ && *inflight_ == id) {
        acked_ = id;
        inflight_.reset();
      }
      return;
    }
    case PINGRESP: pingSentMs_.reset(); return;
    case SUBACK: return;
    case PUBLISH: {
      if (p.body.size() < 2) return fail("bad PUBLISH");
      size_t tl = static_cast<size_t>(p.body[0] << 8 | p.body[1]);
      uint8_t qos = (p.flags >> 1) & 3;
      size_t off = 2 + tl + (qos ? 2 : 0);
      if (off > p.body.size()) return fail("bad PUBLISH");
      std::string topic(p.body.begin() + 2, p.body.begin() + static_cast<long>(2 + tl));
      std::string payload(p.body.begin() + static_cast<long>(off), p.body.end());
      if (qos == 1) send(encodePuback(static_cast<uint16_t>(p.body[2 + tl] << 8 | p.body[3 + tl])));
      if (onMessage_) onMessage_(topic, payload);
      return;
    }
    default: return fail("unexpected packet type " + std::to_string(p.type));
  }
}

void Client::stop() {
  if (state_ == State::Connected) send(encodeDisconnect());
  t_.close();
  dec_.reset();
  inflight_.reset();
  state_ = State::Idle;
}

std::optional<uint16_t> Client::publishQos1(const std::string& topic, const std::string& payload) {
  if (!canPublishQos1()) return std::nullopt;
  uint16_t id = nextPacketId_++;
  if (nextPacketId_ == 0) nextPacketId_ = 1;
  if (!send(encodePublish(topic, payload, 1, id))) return std::nullopt;
  inflight_ = id;
  inflightSinceMs_ = clock_.nowMs();
  return id;
}

bool Client::publishQos0(const std::string& topic, const std::string& payload, bool retain) {
  if (!connected()) return false;
  return send(encodePublish(topic, payload, 0, 0, false, retain));
}

bool Client::subscribe(const std::string& filter) {
  if (!connected()) return false;
  uint16_t id = nextPacketId_++;
  if (nextPacketId_ == 0) nextPacketId_ = 1;
  return send(encodeSubscribe(id, filter, 1));
}

std::optional<uint16_t> Client::takeAcked() {
  auto a = acked_;
  acked_.reset();
  return a;
}

}  // namespace cp::mqtt
