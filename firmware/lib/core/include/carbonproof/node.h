// The device logic shared by the ESP32 build and the host-built device:
// measurement → (time gate) → seq → signed reading → flash ring → MQTT.
#pragma once
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "carbonproof/crypto.h"
#include "carbonproof/drivers/pulse_energy.h"
#include "carbonproof/flash_ring.h"
#include "carbonproof/mqtt.h"
#include "carbonproof/reading.h"
#include "carbonproof/seq_store.h"

namespace cp {

#ifndef CP_FIRMWARE_VERSION
#define CP_FIRMWARE_VERSION "0.1.0"
#endif

// Wall-clock time from SNTP (ESP32) or the system (host).
class WallClock {
 public:
  virtual ~WallClock() = default;
  // False until the time has been set (first SNTP sync on the device).
  virtual bool timeSet() const = 0;
  virtual int64_t unixSeconds() const = 0;
};

// Earliest plausible time: anything before is an unset RTC (the ESP32 boots at 1970).
constexpr int64_t kMinValidUnixS = 1735689600;  // 2025-01-01T00:00:00Z

enum class RecordStatus { Ok, Held, TimeNotSet, InvalidReading, SeqUnavailable, SignFailed, BufferFailed };
const char* statusName(RecordStatus s);

// Sensor fault flags reported in the heartbeat.
enum Fault : uint32_t {
  kFaultCo2 = 1 << 0,          // S8 status bits, a negative CO2 register or no Modbus response
  kFaultThermocouple = 1 << 1, // MAX31855 OC/SCG/SCV, or a frame no chip sends (all 0s/1s)
  kFaultPressure = 1 << 2,     // SDP8xx CRC / no response
  kFaultEnergyMeter = 1 << 3,
  kFaultStorage = 1 << 4,      // store-and-forward buffer or seq store write failed
};
std::vector<std::string> faultNames(uint32_t faults);

struct NodeConfig {
  std::string deviceId;
  std::string facilityId;
  std::string keyId;  // optional, goes into the envelope
  std::string firmwareVersion = CP_FIRMWARE_VERSION;
};

std::string readingsTopic(const std::string& facilityId, const std::string& deviceId);
std::string heartbeatTopic(const std::string& facilityId, const std::string& deviceId);

class SensorNode {
 public:
  SensorNode(NodeConfig cfg, Signer& signer, SeqStore& seq, FlashRing& ring, WallClock& wall, mqtt::Client& mqtt,
             mqtt::Clock& mono);

  // Builds, signs and stores a reading that ends now. While the wall clock is
  // unset nothing is signed or stored and no seq is consumed: an electricity
  // reading is refused (TimeNotSet: the meter keeps its energy pending), a
  // flue-gas measurement is held in RAM with its monotonic time (Held, at most
  // kMaxHeld, the oldest dropped and counted) and recorded, back-dated, before
  // the next reading once the clock is set (or at the next poll). A flue-gas
  // measurement that cannot be recorded for want of a seq, a signature or
  // buffer space is held the same way and retried (status says why);
  // only an InvalidReading is dropped.
  RecordStatus recordFlueGas(const FlueGas& m, int64_t intervalS, std::string* err = nullptr);
  RecordStatus recordElectricity(const Electricity& e, int64_t intervalS, std::string* err = nullptr);

  // The meter's pending energy as electricity readings of at most
  // kMaxIntervalS each: the oracle refuses a longer one as implausible
  // (docs/oracle.md, "interval <= 1 day for sensors"), so a longer wait (no
  // clock for over a day, a storage fault) is split into back-dated slices,
  // oldest first, the Wh shared in proportion (the remainder in the last). Each
  // slice stored is taken off `meter` at once, so a failure part-way counts no
  // energy twice; Ok once all of it is stored (then `meter.recorded(nowMs)`).
  RecordStatus recordMeter(MeterInterval& meter, uint64_t nowMs, std::string* err = nullptr);
  static constexpr int64_t kMaxIntervalS = 86400;

  // Flue-gas measurements held for the clock or a storage fault (1 h at a 5 s
  // interval), and how many were dropped because there were more or their time
  // could not be told.
  static constexpr size_t kMaxHeld = 720;
  static constexpr uint64_t kHeldRetryMs = 5000;  // poll's pause after a failed try
  size_t held() const { return held_.size(); }
  uint64_t heldDropped() const { return heldDropped_; }

  // Drives MQTT and drains the buffer oldest-first, one QoS 1 publish in
  // flight; a record leaves the ring only after its PUBACK.
  void poll();

  // Heartbeat JSON (canonical, signed): fw, uptime, buffer depth, dropped,
  // RSSI, faults. Published with QoS 0 when connected.
  std::string heartbeatJson(int rssiDbm) const;
  bool publishHeartbeat(int rssiDbm);

  void setFaults(uint32_t f) { faults_ = f; }
  uint32_t faults() const { return faults_; }
  uint64_t delivered() const { return delivered_; }

 private:
  RecordStatus record(Reading r, std::string* err, int64_t agoS = 0);
  bool clockSet() const;
  RecordStatus recordHeld(std::string* err);
  void hold(const FlueGas& m, int64_t intervalS);

  struct HeldFlueGas {
    FlueGas m;
    int64_t intervalS;
    uint64_t endedMs;  // monotonic
  };
  std::deque<HeldFlueGas> held_;
  uint64_t heldDropped_ = 0;
  uint64_t heldRetryMs_ = 0;  // monotonic: poll's next try after a failed one

  NodeConfig cfg_;
  Signer& signer_;
  SeqStore& seq_;
  FlashRing& ring_;
  WallClock& wall_;
  mqtt::Client& mqtt_;
  mqtt::Clock& mono_;
  uint64_t bootMs_;
  uint32_t faults_ = 0;
  uint64_t delivered_ = 0;
  uint64_t inflightRecord_ = 0;  // ring id of the record behind the QoS 1 publish in flight
  std::string topic_;
};

}  // namespace cp
