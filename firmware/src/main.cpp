// CarbonProof chimney / meter node (ESP32, Arduino core).
//
// Board layer only: reads the sensors, keeps Wi-Fi and SNTP up, and hands
// integers to the portable core (lib/core), which builds, signs, buffers and
// publishes the readings exactly as on the host (firmware/host/device_main.cpp).
#include <Arduino.h>
#include <LittleFS.h>
#include <WiFi.h>
#include <bootloader_random.h>
#include <esp_task_wdt.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "board/arduino_platform.h"
#include "board/atecc608_signer.h"
#include "board/sensors.h"
#include "board_config.h"
#include "carbonproof/bytes.h"
#include "carbonproof/flue_gas_interval.h"
#include "carbonproof/json.h"
#include "carbonproof/node.h"

using namespace cp;

namespace {

constexpr const char* kFsRoot = "/littlefs";  // LittleFS VFS mount: fopen() works below it
// Copies in LittleFS of what NVS holds, for when NVS is erased (see loadSigner):
constexpr const char* kSeqMirrorFile = "/littlefs/seq.bin";   // seq mark
constexpr const char* kKeyMarkerFile = "/littlefs/devkey.pub";  // public key of the NVS device key
constexpr uint32_t kHaltRestartS = 60;        // a start-up fault is shown this long, then the node restarts
constexpr uint32_t kLoopWatchdogS = 60;       // a loop() stuck longer resets the node (task watchdog)

struct SiteConfig {
  NodeConfig node;
  std::string wifiSsid, wifiPassword;
  mqtt::ClientConfig mqtt;
  std::string caCertPem;
  std::string ntp1 = "pool.ntp.org", ntp2 = "time.google.com";
  int64_t intervalS = 5;
  int64_t heartbeatS = 60;
  DuctConfig duct;  // pressurePa: absolute; set for the site's altitude
  int64_t co2PpmPerCount = 1;
  bool meterEnabled = false;
  uint32_t meterImpPerKwh = 1000;
  int64_t meterIntervalS = 900;
};

SiteConfig gCfg;
board::MonotonicClock gMono;
board::SntpClock gWall;
board::NvsSeqBackend gNvsSeq;
FileSeqBackend gFsSeq(kSeqMirrorFile, false);  // LittleFS: no directory fsync (see FileSeqBackend)
MirroredSeqBackend gSeqBackend(gNvsSeq, gFsSeq);
std::unique_ptr<ReservingSeqStore> gSeq;
FlashRing gRing;
board::TlsTransport gTransport;
std::unique_ptr<mqtt::Client> gMqtt;
std::unique_ptr<Signer> gSigner;
std::unique_ptr<SensorNode> gNode;
board::SenseairS8 gS8(Serial2);
board::Max31855 gTc;
board::Sdp810 gSdp;
board::PulseInput gPulses;
std::unique_ptr<MeterInterval> gMeter;

std::unique_ptr<FlueGasInterval> gFlue;  // per-interval samples → one reading

bool readText(const std::string& path, std::string& out) {
  FILE* f = fopen(path.c_str(), "rb");
  if (!f) return false;
  char buf[512];
  size_t n;
  out.clear();
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return true;
}

[[maybe_unused]] bool writeText(const std::string& path, const std::string& text) {
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) return false;
  bool ok = fwrite(text.data(), 1, text.size(), f) == text.size() && fflush(f) == 0 && fsync(fileno(f)) == 0;
  return fclose(f) == 0 && ok;
}

int64_t num(const json::Value* o, const char* k, int64_t d) {
  const json::Value* v = o && o->isObject() ? o->find(k) : nullptr;
  return v && v->isInt() ? v->i : d;
}
std::string text(const json::Value* o, const char* k, const std::string& d = "") {
  const json::Value* v = o && o->isObject() ? o->find(k) : nullptr;
  return v && v->isString() ? v->s : d;
}

bool loadConfig(std::string& err) {
  std::string raw;
  json::Value c;
  if (!readText(std::string(kFsRoot) + "/device.json", raw)) return err = "missing /littlefs/device.json (pio run -t uploadfs)", false;
  if (!json::parse(raw, c, &err)) return false;
  gCfg.node.deviceId = text(&c, "deviceId");
  gCfg.node.facilityId = text(&c, "facilityId");
  gCfg.node.keyId = text(&c, "keyId");
  if (!isValidId(gCfg.node.deviceId) || !isValidId(gCfg.node.facilityId)) return err = "bad deviceId/facilityId", false;
  const json::Value* wifi = c.find("wifi");
  gCfg.wifiSsid = text(wifi, "ssid");
  gCfg.wifiPassword = text(wifi, "password");
  const json::Value* b = c.find("broker");
  gCfg.mqtt.host = text(b, "host");
  gCfg.mqtt.port = static_cast<uint16_t>(num(b, "port", 8883));
  gCfg.mqtt.connect.clientId = gCfg.node.deviceId;
  gCfg.mqtt.connect.username = text(b, "username");
  gCfg.mqtt.connect.password = text(b, "password");
  gCfg.mqtt.connect.keepAliveS = static_cast<uint16_t>(num(b, "keepAliveS", 60));
  gCfg.mqtt.backoffMinMs = static_cast<uint32_t>(num(b, "backoffMinMs", 2000));
  gCfg.mqtt.backoffMaxMs = static_cast<uint32_t>(num(b, "backoffMaxMs", 300000));
  if (!readText(std::string(kFsRoot) + "/" + text(b, "caCertFile", "ca.pem"), gCfg.caCertPem))
    return err = "missing broker CA certificate in LittleFS", false;
  const json::Value* ntp = c.find("ntp");
  if (ntp && ntp->isArray() && ntp->items.size() >= 1 && ntp->items[0].isString()) gCfg.ntp1 = ntp->items[0].s;
  if (ntp && ntp->isArray() && ntp->items.size() >= 2 && ntp->items[1].isString()) gCfg.ntp2 = ntp->items[1].s;
  gCfg.intervalS = num(&c, "intervalS", 5);
  gCfg.heartbeatS = num(&c, "heartbeatS", 60);
  const json::Value* duct = c.find("duct");
  gCfg.duct.diameterMm = num(duct, "diameterMm", 600);
  gCfg.duct.pressurePa = num(duct, "pressurePa", 101325);
  gCfg.duct.pitot.coefficientPermille = num(duct, "pitotCoefficientPermille", 840);
  gCfg.duct.pitot.molarMassMgPerMol = num(duct, "gasMolarMassMgPerMol", 29000);
  gCfg.co2PpmPerCount = num(c.find("co2"), "ppmPerCount", 1);
  const json::Value* meter = c.find("energyMeter");
  gCfg.meterEnabled = meter && meter->find("enabled") && meter->find("enabled")->b;
  gCfg.meterImpPerKwh = static_cast<uint32_t>(num(meter, "impulsesPerKwh", 1000));
  gCfg.meterIntervalS = num(meter, "intervalS", 900);
  // A scale or period of 0 or less makes no reading anyone can trust (a non-positive
  // ppmPerCount turns a fault's negative CO2 into a plausible value, and a valid one
  // into 0): refused at boot, naming the key, rather than signed.
  if (gCfg.co2PpmPerCount < 1 || gCfg.co2PpmPerCount > 1000) return err = "co2.ppmPerCount must be 1..1000", false;
  if (gCfg.intervalS < 1 || gCfg.heartbeatS < 1) return err = "intervalS and heartbeatS must be at least 1", false;
  if (gCfg.duct.diameterMm < 1 || gCfg.duct.pressurePa < 1 || gCfg.duct.pitot.coefficientPermille < 1 ||
      gCfg.duct.pitot.molarMassMgPerMol < 1)
    return err = "duct.diameterMm, pressurePa, pitotCoefficientPermille and gasMolarMassMgPerMol must be positive", false;
  if (gCfg.meterEnabled && (gCfg.meterImpPerKwh < 1 || gCfg.meterIntervalS < 1))
    return err = "energyMeter.impulsesPerKwh and intervalS must be positive", false;
  return true;
}

// Software key in NVS, generated on the device on first boot so it never
// exists anywhere else, but readable from the flash chip by anyone holding the
// board (this build has no flash or NVS encryption: docs/firmware.md), or the
// ATECC608 build's secure-element key, which never leaves the chip (production).
bool loadSigner(std::string& err) {
#if defined(CP_USE_ATECC608) && CP_USE_ATECC608
  auto se = std::make_unique<board::Atecc608Signer>();
  if (!se->begin()) return err = "ATECC608 not responding or slot not provisioned", false;
  gSigner = std::move(se);
#else
  std::string pem, marker, seqMirror;
  board::KeyLoad load = board::loadKeyPem(pem);
  if (load == board::KeyLoad::NvsError)
    return err = "NVS cannot be read: no new key generated over the registered one (reflash NVS only to re-provision)",
           false;
  bool hadKey = readText(kKeyMarkerFile, marker) || readText(kSeqMirrorFile, seqMirror);
  if (load == board::KeyLoad::Absent && hadKey)
    // Guards against a silent new key: NVS loses the key without any error when
    // the Arduino core erases the NVS partition at boot (nvs_flash_init: no free
    // pages, or a new NVS version). A new key would sign readings that no
    // registered key verifies; the LittleFS copies show that this device had one.
    return err = std::string("NVS has lost the device key (erased?) but ") + kKeyMarkerFile + " or " + kSeqMirrorFile +
                 " shows this device had one: no new key generated. To re-provision, rewrite LittleFS "
                 "(pio run -t uploadfs) with a new deviceId and register the key printed at the next boot",
           false;
  if (load == board::KeyLoad::Absent) {
    // The ESP32's RNG is truly random only while Wi-Fi/BT runs or the
    // bootloader's entropy source (SAR ADC noise) is on, and Wi-Fi starts later
    // in setup(): without this the long-term device key would be generated from
    // pseudo-random numbers. The source must be off again before Wi-Fi or an ADC
    // is started.
    bootloader_random_enable();
    auto fresh = MbedtlsP256Signer::generate(&err);
    bootloader_random_disable();
    if (!fresh || !board::storeKeyPem(fresh->privateKeyPem())) return err = "cannot create device key: " + err, false;
    Serial.println("[cp] generated a new device key (stored in NVS)");
    gSigner = std::move(fresh);
  } else {
    auto s = MbedtlsP256Signer::fromPem(pem, &err);
    if (!s) return false;
    gSigner = std::move(s);
  }
  // The marker is (re)written when missing (a new key, or LittleFS rewritten by
  // uploadfs); a failure only warns: the next boot tries again.
  std::string pubHex = toHex(gSigner->publicKey());
  if (marker.empty() && !writeText(kKeyMarkerFile, pubHex))
    Serial.printf("[cp] WARNING: cannot write %s\n", kKeyMarkerFile);
  else if (!marker.empty() && marker != pubHex)
    Serial.printf("[cp] WARNING: the NVS device key is not the one in %s (kept, not overwritten)\n", kKeyMarkerFile);
#endif
  PublicKey pub = gSigner->publicKey();
  // Provisioning line: register (x, y) with `carbonproof device register` (docs/firmware.md).
  Serial.printf("[cp] device %s facility %s publicKey 0x%s x 0x%s y 0x%s\n", gCfg.node.deviceId.c_str(),
                gCfg.node.facilityId.c_str(), toHex(pub).c_str(), toHex(pub.data() + 1, 32).c_str(),
                toHex(pub.data() + 33, 32).c_str());
  return true;
}

// A start-up fault is shown (serial console, fast blink) for a minute, then
// the node restarts: blinking forever needed a site visit even for a transient
// fault (NVS or I2C busy after a brown-out). Restarting is safe: a device key
// is generated only when NVS reads back no key and LittleFS shows none was ever
// made (loadSigner), never over one NVS cannot read, and LittleFS is never
// formatted (setup), so a restart loop loses and replaces nothing.
void haltWith(const std::string& why) {
  Serial.printf("[cp] FATAL: %s (restarting in %u s)\n", why.c_str(), static_cast<unsigned>(kHaltRestartS));
  for (uint32_t i = 0; i < kHaltRestartS * 5; ++i) {
    digitalWrite(CP_PIN_LED, !digitalRead(CP_PIN_LED));
    delay(200);
  }
  ESP.restart();
}

void sampleSensors() { gFlue->addSample(gS8.read(gCfg.co2PpmPerCount), gTc.read(), gSdp.read()); }

void finishFlueGasInterval(int64_t intervalS) {
  std::optional<FlueGas> m = gFlue->finish();
  gNode->setFaults((gNode->faults() & (kFaultStorage | kFaultEnergyMeter)) | gFlue->faults());
  if (!m) {
    Serial.println("[cp] no valid sample this interval: no reading");
    return;
  }
  std::string err;
  RecordStatus st = gNode->recordFlueGas(*m, intervalS, &err);
  if (st == RecordStatus::Held)
    Serial.printf("[cp] clock not set yet (SNTP): %u measurement(s) held in RAM\n",
                  static_cast<unsigned>(gNode->held()));
  else if (st == RecordStatus::InvalidReading)
    Serial.printf("[cp] reading not recorded: %s %s\n", statusName(st), err.c_str());
  else if (st != RecordStatus::Ok)
    Serial.printf("[cp] reading not recorded yet (held in RAM, retried): %s %s\n", statusName(st), err.c_str());
}

void finishMeterInterval(uint64_t now) {
  // Before SNTP sets the clock the pulses stay in RTC memory, which a watchdog or
  // software reset keeps (RAM does not): taken first, hours of energy waiting for
  // the clock would go with such a reset. Energy is still kept pending in RAM
  // while a reading cannot be stored (MeterInterval).
  if (!gWall.timeSet()) return;
  gMeter->addPulses(gPulses.take());
  std::string err;
  // in readings of at most a day each (the oracle's bound), a longer wait split
  RecordStatus st = gNode->recordMeter(*gMeter, now, &err);
  if (st != RecordStatus::Ok) {
    gNode->setFaults(gNode->faults() | kFaultEnergyMeter);
    Serial.printf("[cp] meter reading not recorded (kept for the next): %s %s\n", statusName(st), err.c_str());
    return;
  }
  gNode->setFaults(gNode->faults() & ~static_cast<uint32_t>(kFaultEnergyMeter));
}

void keepWifi() {
  static uint64_t lastTry = 0;
  if (WiFi.status() == WL_CONNECTED) return;
  uint64_t now = gMono.nowMs();
  if (now - lastTry < 10000) return;
  lastTry = now;
  WiFi.disconnect();
  WiFi.begin(gCfg.wifiSsid.c_str(), gCfg.wifiPassword.c_str());
}

}  // namespace

void setup() {
  Serial.begin(115200);
  pinMode(CP_PIN_LED, OUTPUT);
  Serial.printf("[cp] CarbonProof node fw %s\n", CP_FIRMWARE_VERSION);
  // Never formatted on a mount failure (begin(true) did that): it would wipe
  // every signed reading still buffered, uncounted. A board whose LittleFS was
  // never written gets one from `pio run -t uploadfs`.
  if (!LittleFS.begin(false))
    haltWith("LittleFS mount failed (not formatted: it holds the buffered readings); "
             "a new board needs `pio run -t uploadfs`");
  std::string err;
  if (!loadConfig(err)) haltWith(err);
  gSdp.begin(CP_PIN_I2C_SDA, CP_PIN_I2C_SCL);  // also starts Wire for the ATECC608
  if (!loadSigner(err)) haltWith(err);
  gSeq = std::make_unique<ReservingSeqStore>(gSeqBackend, 64);
  if (!gSeq->begin(&err)) haltWith(err);
  if (gSeqBackend.primaryLost())
    Serial.printf("[cp] NVS had no seq mark (erased?): resumed from %s\n", kSeqMirrorFile);
  if (gSeqBackend.mirrorLost())
    Serial.printf("[cp] %s was missing (uploadfs?): rewritten at the next seq block\n", kSeqMirrorFile);
  if (!gRing.open(std::string(kFsRoot) + "/buffer", CP_BUFFER_SEGMENTS, CP_BUFFER_SEGMENT_BYTES, &err)) haltWith(err);
  Serial.printf("[cp] ring: %u pending, %llu dropped\n", static_cast<unsigned>(gRing.depth()),
                static_cast<unsigned long long>(gRing.dropped()));

  gFlue = std::make_unique<FlueGasInterval>(gCfg.duct);
  gS8.begin(CP_PIN_S8_RX, CP_PIN_S8_TX, CP_S8_BAUD);
  gTc.begin(CP_PIN_TC_SCK, CP_PIN_TC_MISO, CP_PIN_TC_CS);
  if (gCfg.meterEnabled) {
    gMeter = std::make_unique<MeterInterval>(gCfg.meterImpPerKwh, gMono.nowMs());
    gPulses.begin(CP_PIN_METER_PULSE, CP_METER_MIN_PULSE_GAP_MS);
  }

  WiFi.mode(WIFI_STA);
  WiFi.setAutoReconnect(true);
  WiFi.begin(gCfg.wifiSsid.c_str(), gCfg.wifiPassword.c_str());
  gWall.begin(gCfg.ntp1.c_str(), gCfg.ntp2.c_str());
  gTransport.setCaCert(gCfg.caCertPem.c_str());
  gMqtt = std::make_unique<mqtt::Client>(gCfg.mqtt, gTransport, gMono);
  gMqtt->setJitter([](uint32_t base) { return static_cast<uint32_t>(esp_random() % (base / 4 + 1)); });
  gNode = std::make_unique<SensorNode>(gCfg.node, *gSigner, *gSeq, gRing, gWall, *gMqtt, gMono);

  // Guards against a loop() that never returns (a TLS or DNS call stuck past its
  // timeouts, a driver lock-up): nothing watched the loop task, so the node
  // would hang until a power cycle. The task watchdog the core starts watches
  // only the idle task, with a 5 s timeout that a 10 s TLS connect would trip.
  // Here its timeout becomes kLoopWatchdogS, expiry resets the node (panic;
  // it resumes from flash), and the loop task is subscribed; the core feeds
  // it before every loop() call (loopTask in cores/esp32/main.cpp). IDF 4.4
  // (core 2.0.x): esp_task_wdt_init on a running watchdog updates its timeout
  // and panic setting.
  if (esp_task_wdt_init(kLoopWatchdogS, true) != ESP_OK) Serial.println("[cp] WARNING: task watchdog not reconfigured");
  enableLoopWDT();
}

void loop() {
  static uint64_t nextSample = 0, intervalStart = 0, nextInterval = 0, nextMeter = 0, nextHeartbeat = 0;
  uint64_t now = gMono.nowMs();
  if (nextInterval == 0) {
    intervalStart = now;
    nextInterval = now + gCfg.intervalS * 1000;
    nextMeter = now + gCfg.meterIntervalS * 1000;
  }
  if (now >= nextSample) {
    sampleSensors();
    nextSample = now + 1000;
  }
  if (now >= nextInterval) {
    // The reading covers the time since the last one, not the configured
    // interval: when the loop was held up (a TLS connect or DNS lookup of
    // gNode->poll() can take seconds), the overdue intervals would otherwise
    // finish back to back with no samples and no reading, and the emissions of
    // that time would go unreported. The rate measured before the stall stands
    // for it (over- rather than under-reporting emissions).
    // Whole seconds are claimed and the rest carried, so that the claimed
    // intervals add up to the time elapsed.
    int64_t claimedS = std::max<int64_t>(1, static_cast<int64_t>((now - intervalStart) / 1000));
    finishFlueGasInterval(claimedS);
    intervalStart += static_cast<uint64_t>(claimedS) * 1000;
    nextInterval = intervalStart + gCfg.intervalS * 1000;
  }
  if (gCfg.meterEnabled && now >= nextMeter) {
    finishMeterInterval(now);
    nextMeter += gCfg.meterIntervalS * 1000;
  }
  keepWifi();
  if (WiFi.status() == WL_CONNECTED) gNode->poll();
  if (gCfg.heartbeatS > 0 && gMqtt->connected() && now >= nextHeartbeat) {
    gNode->publishHeartbeat(WiFi.RSSI());
    nextHeartbeat = now + gCfg.heartbeatS * 1000;
  }
  digitalWrite(CP_PIN_LED, gMqtt->connected() ? HIGH : (now / 500) % 2);
  delay(10);
}
