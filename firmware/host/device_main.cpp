// cp-device: the firmware core built for Linux. It signs simulated flue-gas
// readings with a real P-256 key and publishes them over MQTT 3.1.1 QoS 1,
// through the same store-and-forward ring, seq store and MQTT state machine as
// the ESP32 build.
//
//   cp-device keygen <key.pem>          new P-256 key (PKCS#8 PEM, mode 0600); prints the public key
//   cp-device pubkey <key.pem>          prints the public key (x, y for DeviceRegistry.registerDevice)
//   cp-device run <config.json>         runs the device (see docs/firmware.md for the config)
//   cp-device verify <key.pem|0x04…>    reads envelopes, one per line, from stdin and verifies each
//   cp-device sign <key.pem> [keyId]    reads readings, one JSON per line, from stdin; prints envelopes
//   cp-device fixture <sdk-vectors.json> <key.pem>
//                                       prints firmware/test-vectors/firmware-signed-v1.json: the sdk
//                                       vectors' flue-gas and electricity readings signed by the firmware
#include <fcntl.h>
#include <sys/stat.h>

#include <csignal>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <thread>

#include "carbonproof/bytes.h"
#include "carbonproof/flue_gas.h"
#include "carbonproof/json.h"
#include "carbonproof/node.h"
#include "posix.h"
#include "tls_transport.h"

using namespace cp;

namespace {

volatile std::sig_atomic_t gStop = 0;
void onSignal(int) { gStop = 1; }

int usage() {
  std::cerr << "usage: cp-device keygen <key.pem> | pubkey <key.pem> | run <config.json> | verify <key.pem|0x04...>\n"
               "       | sign <key.pem> [keyId] | fixture <sdk-vectors.json> <key.pem>\n";
  return 2;
}

std::string pubJson(const PublicKey& p) {
  json::Value o = json::Value::object();
  o.set("publicKey", json::Value::string("0x" + toHex(p)));
  o.set("x", json::Value::string("0x" + toHex(p.data() + 1, 32)));
  o.set("y", json::Value::string("0x" + toHex(p.data() + 33, 32)));
  std::string s;
  json::canonicalize(o, s);
  return s;
}

std::unique_ptr<MbedtlsP256Signer> loadKey(const std::string& path) {
  std::string pem, err;
  if (!host::readFile(path, pem)) {
    std::cerr << "cannot read key file " << path << "\n";
    return nullptr;
  }
  auto s = MbedtlsP256Signer::fromPem(pem, &err);
  if (!s) std::cerr << "key " << path << ": " << err << "\n";
  return s;
}

int keygen(const std::string& path) {
  std::string err;
  auto s = MbedtlsP256Signer::generate(&err);
  if (!s) return std::cerr << err << "\n", 1;
  // Created 0600 and exclusively in one call: never readable by others, not even
  // for a moment, and never over a key that appeared meanwhile.
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0600);
  if (fd < 0 && errno == EEXIST) return std::cerr << path << " exists; refusing to overwrite a device key\n", 1;
  if (fd < 0) return std::cerr << "cannot write " << path << ": " << std::strerror(errno) << "\n", 1;
  const std::string pem = s->privateKeyPem();
  bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok) {
    ::unlink(path.c_str());
    return std::cerr << "cannot write " << path << "\n", 1;
  }
  std::cout << pubJson(s->publicKey()) << "\n";
  return 0;
}

int verify(const std::string& keyArg) {
  PublicKey pub{};
  std::vector<uint8_t> raw;
  if (keyArg.rfind("0x04", 0) == 0 && fromHex(keyArg, raw) && raw.size() == 65) {
    std::copy(raw.begin(), raw.end(), pub.begin());
  } else {
    auto s = loadKey(keyArg);
    if (!s) return 1;
    pub = s->publicKey();
  }
  std::string line;
  int ok = 0, bad = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    std::string err;
    Reading r;
    if (verifyEnvelope(line, pub, &r, &err)) {
      ++ok;
      std::cout << "ok " << r.deviceId << " seq=" << r.seq << "\n";
    } else {
      ++bad;
      std::cout << "FAIL " << err << "\n";
    }
  }
  std::cout << ok << " valid, " << bad << " invalid\n";
  return (bad == 0 && ok > 0) ? 0 : 1;
}

int signLines(const std::string& keyPath, const std::string& keyId) {
  auto signer = loadKey(keyPath);
  if (!signer) return 1;
  std::string line;
  int bad = 0;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    json::Value v;
    Reading r;
    SignedReading s;
    std::string err;
    if (!json::parse(line, v, &err) || !readingFromJson(v, r, &err) || !signReading(r, *signer, s, &err)) {
      std::cerr << "skipped: " << err << "\n";
      ++bad;
      continue;
    }
    std::cout << envelopeJson(s, keyId) << "\n";
  }
  return bad ? 1 : 0;
}

int fixture(const std::string& vectorsPath, const std::string& keyPath) {
  std::string text, err;
  json::Value vec;
  if (!host::readFile(vectorsPath, text) || !json::parse(text, vec, &err))
    return std::cerr << vectorsPath << ": " << (err.empty() ? "unreadable" : err) << "\n", 1;
  auto signer = loadKey(keyPath);
  if (!signer) return 1;
  std::string pemText;
  host::readFile(keyPath, pemText);
  std::string pemJson, pubJsonText = pubJson(signer->publicKey());
  json::canonicalize(json::Value::string(pemText), pemJson);
  std::cout << "{\n  \"description\": \"Readings of sdk/test-vectors/v1.json (kinds the firmware produces) signed by the "
               "firmware core (mbedTLS, RFC 6979, low-s) with a TEST-ONLY key that is public and proves nothing. "
               "Generated by: cp-device fixture sdk/test-vectors/v1.json firmware/test-vectors/firmware-test-key.pem; "
               "do not edit. Verify with sdk verifyEnvelope or on-chain P256.verify(digest, r, s, x, y).\",\n";
  std::cout << "  \"key\": " << pubJsonText << ",\n  \"keyPkcs8Pem\": " << pemJson << ",\n  \"envelopes\": [\n";
  const json::Value* readings = vec.find("readings");
  bool first = true;
  for (const auto& item : readings ? readings->items : std::vector<json::Value>{}) {
    const json::Value* rv = item.find("reading");
    Reading r;
    SignedReading s;
    if (!rv || !readingFromJson(*rv, r, nullptr)) continue;  // fuel/manual: not produced by the firmware
    if (!signReading(r, *signer, s, &err)) return std::cerr << err << "\n", 1;
    json::Value entry = json::Value::object();
    json::Value env;
    json::parse(envelopeJson(s, "firmware-test"), env);
    entry.set("envelope", env);
    entry.set("digest", json::Value::string("0x" + toHex(s.digest)));
    std::string line;
    json::canonicalize(entry, line);
    std::cout << (first ? "" : ",\n") << "    " << line;
    first = false;
  }
  std::cout << "\n  ]\n}\n";
  return 0;
}

int64_t intField(const json::Value& o, const char* k, int64_t dflt) {
  const json::Value* v = o.find(k);
  return v && v->isInt() ? v->i : dflt;
}
std::string strField(const json::Value& o, const char* k, const std::string& dflt = "") {
  const json::Value* v = o.find(k);
  return v && v->isString() ? v->s : dflt;
}

int run(const std::string& configPath) {
  std::string text, err;
  json::Value cfg;
  if (!host::readFile(configPath, text) || !json::parse(text, cfg, &err) || !cfg.isObject())
    return std::cerr << "config " << configPath << ": " << (err.empty() ? "unreadable" : err) << "\n", 1;
  NodeConfig nc;
  nc.deviceId = strField(cfg, "deviceId");
  nc.facilityId = strField(cfg, "facilityId");
  nc.keyId = strField(cfg, "keyId");
  if (!isValidId(nc.deviceId) || !isValidId(nc.facilityId))
    return std::cerr << "config: deviceId and facilityId must be 1-32 chars of [a-z0-9][a-z0-9._-]*\n", 1;
  auto signer = loadKey(strField(cfg, "keyFile"));
  if (!signer) return 1;
  std::string dataDir = strField(cfg, "dataDir", ".");
  mkdir(dataDir.c_str(), 0700);

  FileSeqBackend seqBackend(dataDir + "/seq.bin");
  ReservingSeqStore seq(seqBackend, intField(cfg, "seqBlock", 16));
  if (!seq.begin(&err)) return std::cerr << err << "\n", 1;
  FlashRing ring;
  if (!ring.open(dataDir + "/buffer", static_cast<uint32_t>(intField(cfg, "bufferSegments", 64)),
                 static_cast<uint32_t>(intField(cfg, "bufferSegmentBytes", 16384)), &err))
    return std::cerr << err << "\n", 1;

  const json::Value* broker = cfg.find("broker");
  json::Value emptyObj = json::Value::object();
  if (!broker || !broker->isObject()) broker = &emptyObj;
  mqtt::ClientConfig mc;
  mc.host = strField(*broker, "host", "127.0.0.1");
  mc.port = static_cast<uint16_t>(intField(*broker, "port", 1883));
  mc.connect.clientId = strField(*broker, "clientId", nc.deviceId);
  mc.connect.username = strField(*broker, "username");
  mc.connect.password = strField(*broker, "password");
  mc.connect.keepAliveS = static_cast<uint16_t>(intField(*broker, "keepAliveS", 30));
  mc.backoffMinMs = static_cast<uint32_t>(intField(*broker, "backoffMinMs", 1000));
  mc.backoffMaxMs = static_cast<uint32_t>(intField(*broker, "backoffMaxMs", 60000));

  // MQTT over TLS when broker.caFile is set (as on the ESP32), plain TCP otherwise.
  std::string caFile = strField(*broker, "caFile");
  std::unique_ptr<mqtt::Transport> transportPtr;
  if (caFile.empty()) transportPtr = std::make_unique<host::TcpTransport>();
  else transportPtr = std::make_unique<host::TlsTransport>(caFile);
  mqtt::Transport& transport = *transportPtr;
  host::SteadyClock mono;
  host::SystemWallClock wall;
  mqtt::Client client(mc, transport, mono);
  SensorNode node(nc, *signer, seq, ring, wall, client, mono);

  const int64_t intervalS = intField(cfg, "intervalS", 5);
  const int64_t periodMs = intField(cfg, "periodMs", intervalS * 1000);  // tests run faster than real time
  const int64_t count = intField(cfg, "count", 0);                       // 0: forever
  const int64_t heartbeatMs = intField(cfg, "heartbeatS", 60) * 1000;
  const int64_t exitAfterMs = intField(cfg, "timeoutS", 0) * 1000;
  const json::Value* sim = cfg.find("sim");
  FlueGas base{41000, 18550, 6200, 101325, 600};
  if (sim && sim->isObject()) {
    base.co2Ppm = intField(*sim, "co2Ppm", base.co2Ppm);
    base.tempCentiC = intField(*sim, "tempCentiC", base.tempCentiC);
    base.velocityMmS = intField(*sim, "velocityMmS", base.velocityMmS);
    base.pressurePa = intField(*sim, "pressurePa", base.pressurePa);
    base.ductDiameterMm = intField(*sim, "ductDiameterMm", base.ductDiameterMm);
  }

  // "kind": "electricity" simulates a pulse-output meter instead of a chimney.
  const bool electricity = strField(cfg, "kind", "flue-gas") == "electricity";
  if (!electricity && strField(cfg, "kind", "flue-gas") != "flue-gas")
    return std::cerr << "config: kind must be flue-gas or electricity\n", 1;
  const int64_t baseWh = sim && sim->isObject() ? intField(*sim, "energyWh", 12500) : 12500;
  const int64_t baseRenewableWh = sim && sim->isObject() ? intField(*sim, "renewableWh", -1) : -1;
  std::signal(SIGINT, onSignal);
  std::signal(SIGTERM, onSignal);
  uint64_t start = mono.nowMs(), nextReading = start, nextHeartbeat = start;
  int64_t recorded = 0;
  uint32_t lcg = 12345;
  bool wasConnected = false;
  uint32_t seenFailures = 0;
  std::cerr << "cp-device " << nc.deviceId << " → " << mc.host << ":" << mc.port << " topic "
            << readingsTopic(nc.facilityId, nc.deviceId) << " (ring depth " << ring.depth() << ")\n";
  while (!gStop) {
    uint64_t now = mono.nowMs();
    if ((count == 0 || recorded < count) && now >= nextReading && electricity) {
      lcg = lcg * 1103515245u + 12345u;
      Electricity e;  // ±10 % around the configured energy per interval
      e.energyWh = baseWh + static_cast<int64_t>(lcg % static_cast<uint32_t>(baseWh / 5 + 1)) - baseWh / 10;
      if (baseRenewableWh >= 0) e.renewableWh = baseRenewableWh;
      std::string rerr;
      RecordStatus st = node.recordElectricity(e, intervalS, &rerr);
      std::cerr << "reading " << statusName(st) << " seq=" << seq.last() << " energyWh=" << e.energyWh
                << (rerr.empty() ? "" : " " + rerr) << "\n";
      if (st == RecordStatus::Ok) ++recorded;
      nextReading += static_cast<uint64_t>(periodMs);
    }
    if ((count == 0 || recorded < count) && now >= nextReading && !electricity) {
      lcg = lcg * 1103515245u + 12345u;
      FlueGas m = base;  // ±2 % around the configured point, integers only
      m.co2Ppm += static_cast<int64_t>(lcg % 1641) - 820;
      m.velocityMmS += static_cast<int64_t>((lcg >> 11) % 249) - 124;
      m.tempCentiC += static_cast<int64_t>((lcg >> 20) % 401) - 200;
      std::string rerr;
      RecordStatus st = node.recordFlueGas(m, intervalS, &rerr);
      int64_t mg = 0;
      flueGasMassMg(m, intervalS, mg);
      std::cerr << "reading " << statusName(st) << " seq=" << seq.last() << " co2Mg=" << mg
                << (rerr.empty() ? "" : " " + rerr) << "\n";
      if (st == RecordStatus::Ok) ++recorded;
      nextReading += static_cast<uint64_t>(periodMs);
    }
    node.poll();
    if (client.failures() > seenFailures && !wasConnected) {
      std::string detail = client.lastError();
      if (auto* tls = dynamic_cast<host::TlsTransport*>(transportPtr.get()); tls && !tls->lastError().empty())
        detail += " (" + tls->lastError() + ")";
      std::cerr << "mqtt attempt failed: " << detail << "; retry in " << client.currentBackoffMs() << " ms\n";
    }
    seenFailures = client.failures();
    if (client.connected() != wasConnected) {
      wasConnected = client.connected();
      std::string detail = client.lastError();
      if (auto* tls = dynamic_cast<host::TlsTransport*>(transportPtr.get()); tls && !tls->lastError().empty())
        detail += " (" + tls->lastError() + ")";
      std::cerr << (wasConnected ? "mqtt connected" : "mqtt disconnected: " + detail) << "\n";
      if (!wasConnected) std::cerr << "retry in " << client.currentBackoffMs() << " ms\n";
    }
    if (heartbeatMs > 0 && client.connected() && now >= nextHeartbeat) {
      node.publishHeartbeat(0);
      nextHeartbeat = now + static_cast<uint64_t>(heartbeatMs);
    }
    if (count > 0 && recorded >= count && ring.depth() == 0 && !client.inflight()) break;
    if (exitAfterMs > 0 && now - start > static_cast<uint64_t>(exitAfterMs)) {
      std::cerr << "timeout with " << ring.depth() << " readings still buffered\n";
      client.stop();
      return 3;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  client.stop();
  std::cerr << "delivered " << node.delivered() << " readings, buffered " << ring.depth() << ", dropped "
            << ring.dropped() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  std::string cmd = argv[1];
  if (cmd == "keygen" && argc == 3) return keygen(argv[2]);
  if (cmd == "pubkey" && argc == 3) {
    auto s = loadKey(argv[2]);
    if (!s) return 1;
    std::cout << pubJson(s->publicKey()) << "\n";
    return 0;
  }
  if (cmd == "run" && argc == 3) return run(argv[2]);
  if (cmd == "verify" && argc == 3) return verify(argv[2]);
  if (cmd == "sign" && (argc == 3 || argc == 4)) return signLines(argv[2], argc == 4 ? argv[3] : "");
  if (cmd == "fixture" && argc == 4) return fixture(argv[2], argv[3]);
  return usage();
}
