#include <doctest/doctest.h>

#include "carbonproof/mqtt.h"
#include "test_support.h"

using namespace cp::mqtt;
using cptest::FakeClock;
using cptest::FakeTransport;

namespace {
ClientConfig config() {
  ClientConfig c;
  c.connect.clientId = "dev-1";
  c.connect.keepAliveS = 30;
  c.backoffMinMs = 1000;
  c.backoffMaxMs = 16000;
  c.ackTimeoutMs = 5000;
  c.connackTimeoutMs = 5000;
  return c;
}
}  // namespace

TEST_CASE("mqtt codec: CONNECT - PUBLISH QoS 1 and remaining-length encoding") {
  ConnectOptions o;
  o.clientId = "dev";
  o.keepAliveS = 60;
  o.username = "u";
  o.password = "p";
  auto c = encodeConnect(o);
  CHECK(c == std::vector<uint8_t>{0x10, 21, 0, 4, 'M', 'Q', 'T', 'T', 4, 0xC2, 0, 60, 0, 3, 'd', 'e', 'v', 0, 1, 'u',
                                  0, 1, 'p'});
  auto p = encodePublish("a/b", "hi", 1, 0x1234);
  CHECK(p == std::vector<uint8_t>{0x32, 9, 0, 3, 'a', '/', 'b', 0x12, 0x34, 'h', 'i'});
  auto big = encodePublish("t", std::string(200, 'x'), 0, 0);
  CHECK(big[1] == (203 % 128 | 0x80));
  CHECK(big[2] == 1);
  Decoder d;
  d.feed(big.data(), 2);
  Packet pk;
  CHECK(d.next(pk) == 0);
  d.feed(big.data() + 2, big.size() - 2);
  REQUIRE(d.next(pk) == 1);
  CHECK(pk.type == PUBLISH);
  CHECK(pk.body.size() == 203);
}

TEST_CASE("mqtt decoder rejects a packet larger than its limit") {
  Decoder d;
  const uint8_t huge[] = {0x30, 0xFF, 0xFF, 0x7F};  // PUBLISH of ~2 MB
  d.feed(huge, sizeof huge);
  Packet p;
  CHECK(d.next(p) == -1);
  const uint8_t bad[] = {0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01};  // 5-byte remaining length
  Decoder d2;
  d2.feed(bad, sizeof bad);
  CHECK(d2.next(p) == -1);
}

TEST_CASE("mqtt client connects - publishes QoS 1 and reports the PUBACK") {
  FakeClock clock;
  FakeTransport t;
  Client c(config(), t, clock);
  c.poll();
  CHECK(c.state() == State::AwaitConnack);
  REQUIRE(t.count(CONNECT) == 1);
  t.connack();
  c.poll();
  REQUIRE(c.connected());
  auto id = c.publishQos1("carbonproof/v1/f/d/readings", "{}");
  REQUIRE(id);
  CHECK_FALSE(c.canPublishQos1());  // one in flight
  CHECK_FALSE(c.publishQos1("x", "y"));
  t.puback(*id);
  c.poll();
  CHECK(c.takeAcked() == id);
  CHECK(c.canPublishQos1());
}

TEST_CASE("mqtt backoff doubles from the minimum to the cap and resets after CONNACK") {
  FakeClock clock;
  FakeTransport t;
  t.acceptOpen = false;
  Client c(config(), t, clock);
  std::vector<uint32_t> delays;
  for (int i = 0; i < 7; ++i) {
    c.poll();
    REQUIRE(c.state() == State::Backoff);
    delays.push_back(c.currentBackoffMs());
    clock.t += c.currentBackoffMs() - 1;
    int opens = t.opens;
    c.poll();  // 1 ms early: no attempt
    CHECK(t.opens == opens);
    clock.t += 1;
  }
  CHECK(delays == std::vector<uint32_t>{1000, 2000, 4000, 8000, 16000, 16000, 16000});
  t.acceptOpen = true;
  c.poll();
  t.connack();
  c.poll();
  REQUIRE(c.connected());
  CHECK(c.failures() == 0);
  t.peerClosed = true;
  c.poll();
  CHECK(c.state() == State::Backoff);
  CHECK(c.currentBackoffMs() == 1000);
}

TEST_CASE("mqtt backoff adds the configured jitter") {
  FakeClock clock;
  FakeTransport t;
  t.acceptOpen = false;
  Client c(config(), t, clock);
  c.setJitter([](uint32_t base) { return base / 4; });
  c.poll();
  CHECK(c.nextAttemptAtMs() == clock.t + 1000 + 250);
}

TEST_CASE("mqtt refused CONNACK and missing CONNACK both back off") {
  FakeClock clock;
  FakeTransport t;
  Client c(config(), t, clock);
  c.poll();
  t.connack(5);  // not authorised
  c.poll();
  CHECK(c.state() == State::Backoff);
  CHECK(c.lastError().find("code 5") != std::string::npos);
  clock.t += 1000;
  c.poll();
  CHECK(c.state() == State::AwaitConnack);
  clock.t += 5000;
  c.poll();
  CHECK(c.state() == State::Backoff);
  CHECK(c.lastError() == "no CONNACK");
  CHECK(c.currentBackoffMs() == 2000);
}

TEST_CASE("mqtt missing PUBACK drops the connection so the record is resent after reconnect") {
  FakeClock clock;
  FakeTransport t;
  Client c(config(), t, clock);
  c.poll();
  t.connack();
  c.poll();
  REQUIRE(c.publishQos1("t", "p"));
  clock.t += 5000;
  c.poll();
  CHECK(c.state() == State::Backoff);
  CHECK(c.lastError() == "no PUBACK");
  CHECK_FALSE(c.inflight());
  CHECK_FALSE(c.takeAcked());
}

TEST_CASE("mqtt keepalive sends PINGREQ and a missing PINGRESP disconnects") {
  FakeClock clock;
  FakeTransport t;
  Client c(config(), t, clock);
  c.poll();
  t.connack();
  c.poll();
  clock.t += 22500;  // 3/4 of 30 s keepalive
  c.poll();
  CHECK(t.count(PINGREQ) == 1);
  t.queue({0xD0, 0x00});
  c.poll();
  CHECK(c.connected());
  clock.t += 22500;
  c.poll();
  CHECK(t.count(PINGREQ) == 2);
  clock.t += 5000;
  c.poll();
  CHECK(c.state() == State::Backoff);
  CHECK(c.lastError() == "no PINGRESP");
}

TEST_CASE("mqtt inbound QoS 1 message is delivered and acknowledged") {
  FakeClock clock;
  FakeTransport t;
  Client c(config(), t, clock);
  std::string got;
  c.onMessage([&](const std::string& topic, const std::string& payload) { got = topic + "=" + payload; });
  c.poll();
  t.connack();
  c.poll();
  t.queue(encodePublish("cmd", "reboot", 1, 7));
  c.poll();
  CHECK(got == "cmd=reboot");
  auto* ack = t.last(PUBACK);
  REQUIRE(ack);
  CHECK(ack->body == std::vector<uint8_t>{0, 7});
}
