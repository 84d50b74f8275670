#include "arduino_platform.h"

#include <Preferences.h>
#include <esp_sntp.h>
#include <esp_timer.h>
#include <time.h>

namespace cp::board {

bool TlsTransport::open(const std::string& host, uint16_t port) {
  client_.stop();
  if (!ca_) return false;
  client_.setCACert(ca_);
  // Both in seconds. setTimeout bounds the TCP connect and each socket read or
  // write; the TLS handshake has its own limit, 120 s by default, which left
  // the loop blocked for two minutes on a broker that accepts TCP but stalls
  // the handshake (and the loop watchdog would reset the node first).
  client_.setTimeout(10);
  client_.setHandshakeTimeout(10);
  return client_.connect(host.c_str(), port) == 1;
}

bool TlsTransport::write(const uint8_t* data, size_t len) {
  if (!client_.connected()) return false;
  return client_.write(data, len) == len;
}

int TlsTransport::read(uint8_t* buf, size_t cap) {
  if (!client_.connected()) return -1;
  int avail = client_.available();
  if (avail <= 0) return 0;
  int n = client_.read(buf, cap < static_cast<size_t>(avail) ? cap : static_cast<size_t>(avail));
  return n < 0 ? -1 : n;
}

void TlsTransport::close() { client_.stop(); }

uint64_t MonotonicClock::nowMs() { return static_cast<uint64_t>(esp_timer_get_time() / 1000); }

namespace {
volatile bool gSynced = false;
void onSync(struct timeval*) { gSynced = true; }
}  // namespace

void SntpClock::begin(const char* server1, const char* server2) {
  sntp_set_time_sync_notification_cb(onSync);
  configTime(0, 0, server1, server2);  // UTC; readings carry unix seconds
}

bool SntpClock::timeSet() const { return gSynced && unixSeconds() >= kMinValidUnixS; }

int64_t SntpClock::unixSeconds() const { return static_cast<int64_t>(time(nullptr)); }

bool NvsSeqBackend::load(bool& found, int64_t& mark) {
  Preferences p;
  // Opened read-write, which creates the namespace on a fresh device: a failure
  // is then an NVS error, never "fresh" (seq 0 would reuse every seq sent, and
  // the oracle would reject them all as replays). A read-only open fails on a
  // missing namespace and on a broken NVS alike.
  if (!p.begin("carbonproof", false)) return false;
  found = p.isKey("seqMark");
  if (found) mark = p.getLong64("seqMark", -1);
  p.end();
  return !found || mark >= 0;
}

bool NvsSeqBackend::store(int64_t mark) {
  Preferences p;
  if (!p.begin("carbonproof", false)) return false;
  bool ok = p.putLong64("seqMark", mark) == sizeof(int64_t);  // Preferences commits on each put
  p.end();
  return ok;
}

KeyLoad loadKeyPem(std::string& pem) {
  Preferences p;
  if (!p.begin("carbonproof", false)) return KeyLoad::NvsError;  // read-write: see NvsSeqBackend::load
  bool found = p.isKey("devkey");
  if (found) pem = p.getString("devkey", "").c_str();
  p.end();
  if (!found) return KeyLoad::Absent;
  return pem.empty() ? KeyLoad::NvsError : KeyLoad::Found;
}

bool storeKeyPem(const std::string& pem) {
  Preferences p;
  if (!p.begin("carbonproof", false)) return false;
  bool ok = p.putString("devkey", pem.c_str()) == pem.size();
  p.end();
  return ok;
}

}  // namespace cp::board
