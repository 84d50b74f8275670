#include "carbonproof/node.h"

#include "carbonproof/bytes.h"

namespace cp {

const char* statusName(RecordStatus s) {
  switch (s) {
    case RecordStatus::Ok: return "ok";
    case RecordStatus::Held: return "held";
    case RecordStatus::TimeNotSet: return "time-not-set";
    case RecordStatus::InvalidReading: return "invalid-reading";
    case RecordStatus::SeqUnavailable: return "seq-unavailable";
    case RecordStatus::SignFailed: return "sign-failed";
    case RecordStatus::BufferFailed: return "buffer-failed";
  }
  return "?";
}

std::vector<std::string> faultNames(uint32_t f) {
  std::vector<std::string> out;
  if (f & kFaultCo2) out.push_back("co2");
  if (f & kFaultThermocouple) out.push_back("thermocouple");
  if (f & kFaultPressure) out.push_back("pressure");
  if (f & kFaultEnergyMeter) out.push_back("energy-meter");
  if (f & kFaultStorage) out.push_back("storage");
  return out;
}

std::string readingsTopic(const std::string& facilityId, const std::string& deviceId) {
  return "carbonproof/v1/" + facilityId + "/" + deviceId + "/readings";
}
std::string heartbeatTopic(const std::string& facilityId, const std::string& deviceId) {
  return "carbonproof/v1/" + facilityId + "/" + deviceId + "/heartbeat";
}

SensorNode::SensorNode(NodeConfig cfg, Signer& signer, SeqStore& seq, FlashRing& ring, WallClock& wall,
                       mqtt::Client& mqtt, mqtt::Clock& mono)
    : cfg_(std::move(cfg)), signer_(signer), seq_(seq), ring_(ring), wall_(wall), mqtt_(mqtt), mono_(mono),
      bootMs_(mono.nowMs()), topic_(readingsTopic(cfg_.facilityId, cfg_.deviceId)) {}

namespace {
Reading flueGasReading(const FlueGas& m, int64_t intervalS) {
  Reading r;
  r.kind = ReadingKind::FlueGas;
  r.flueGas = m;
  r.intervalS = intervalS;
  return r;
}
}  // namespace

bool SensorNode::clockSet() const { return wall_.timeSet() && wall_.unixSeconds() >= kMinValidUnixS; }

RecordStatus SensorNode::recordFlueGas(const FlueGas& m, int64_t intervalS, std::string* err) {
  // Before SNTP has set the clock (a power cut that took the site's router down
  // too), the chimney's measurements are held, not lost; in order, before this one.
  RecordStatus st = recordHeld(err);
  if (st == RecordStatus::Ok && clockSet()) {
    st = record(flueGasReading(m, intervalS), err);
    // Never recordable: dropped, and the caller is told why.
    if (st == RecordStatus::Ok || st == RecordStatus::InvalidReading) return st;
  }
  // A storage, seq or signing failure (this one's, or an older held one's) keeps
  // the measurement too, for poll to retry: it was thrown away uncounted.
  hold(m, intervalS);
  if (st == RecordStatus::Ok) {
    if (err) *err = "wall clock not set (waiting for SNTP): measurement held";
    return RecordStatus::Held;
  }
  return st;
}

void SensorNode::hold(const FlueGas& m, int64_t intervalS) {
  if (held_.size() >= kMaxHeld) {
    held_.pop_front();
    ++heldDropped_;
  }
  held_.push_back(HeldFlueGas{m, intervalS, mono_.nowMs()});
  // poll's retry comes after the usual pause, not at once (each try spends a seq)
  if (clockSet()) heldRetryMs_ = mono_.nowMs() + kHeldRetryMs;
}

RecordStatus SensorNode::recordElectricity(const Electricity& e, int64_t intervalS, std::string* err) {
  Reading r;
  r.kind = ReadingKind::Electricity;
  r.electricity = e;
  r.intervalS = intervalS;
  return record(std::move(r), err);
}

RecordStatus SensorNode::recordMeter(MeterInterval& meter, uint64_t nowMs, std::string* err) {
  for (;;) {
    const int64_t total = meter.intervalS(nowMs);
    const int64_t wh = meter.pendingWh();
    if (total <= kMaxIntervalS) {
      RecordStatus st = recordElectricity(Electricity{wh, std::nullopt}, total, err);
      if (st == RecordStatus::Ok) meter.recorded(nowMs);
      return st;
    }
    // the oldest day of the wait, ending total - kMaxIntervalS seconds ago;
    // its share of the Wh without overflowing (wh * 86400 could)
    const int64_t sliceWh = wh / total * kMaxIntervalS + (wh % total) * kMaxIntervalS / total;
    Reading r;
    r.kind = ReadingKind::Electricity;
    r.electricity = Electricity{sliceWh, std::nullopt};
    r.intervalS = kMaxIntervalS;
    RecordStatus st = record(std::move(r), err, total - kMaxIntervalS);
    if (st != RecordStatus::Ok) return st;
    meter.advance(static_cast<uint64_t>(kMaxIntervalS) * 1000, sliceWh);
  }
}

// Records the held measurements, oldest first, each with the time it ended:
// now minus the monotonic time since. Ok when none is left (or the clock is
// still unset); otherwise the first failure, the rest kept for the next try.
RecordStatus SensorNode::recordHeld(std::string* err) {
  while (!held_.empty() && clockSet()) {
    const HeldFlueGas& h = held_.front();
    int64_t agoS = static_cast<int64_t>((mono_.nowMs() - h.endedMs) / 1000);
    if (wall_.unixSeconds() - agoS < kMinValidUnixS) {  // its time cannot be told
      held_.pop_front();
      ++heldDropped_;
      continue;
    }
    RecordStatus st = record(flueGasReading(h.m, h.intervalS), err, agoS);
    if (st == RecordStatus::InvalidReading) {  // never recordable
      held_.pop_front();
      ++heldDropped_;
      continue;
    }
    if (st != RecordStatus::Ok) return st;
    held_.pop_front();
  }
  return RecordStatus::Ok;
}

RecordStatus SensorNode::record(Reading r, std::string* err, int64_t agoS) {
  if (!clockSet()) {
    if (err) *err = "wall clock not set (waiting for SNTP): reading refused";
    return RecordStatus::TimeNotSet;
  }
  r.deviceId = cfg_.deviceId;
  r.facilityId = cfg_.facilityId;
  r.ts = wall_.unixSeconds() - agoS;
  r.seq = 0;
  if (!validateReading(r, err)) return RecordStatus::InvalidReading;  // before a seq is spent
  int64_t seq;
  if (!seq_.next(seq)) {
    faults_ |= kFaultStorage;
    if (err) *err = "sequence store could not persist its mark";
    return RecordStatus::SeqUnavailable;
  }
  r.seq = seq;
  SignedReading s;
  if (!signReading(r, signer_, s, err)) return RecordStatus::SignFailed;
  if (!ring_.push(envelopeJson(s, cfg_.keyId), err)) {
    faults_ |= kFaultStorage;
    return RecordStatus::BufferFailed;
  }
  return RecordStatus::Ok;
}

void SensorNode::poll() {
  // The clock may have been set since the last reading. A failure (a storage
  // fault: each try spends a seq) is retried every 5 s, not at every poll.
  if (!held_.empty() && mono_.nowMs() >= heldRetryMs_ && recordHeld(nullptr) != RecordStatus::Ok)
    heldRetryMs_ = mono_.nowMs() + kHeldRetryMs;
  mqtt_.poll();
  if (mqtt_.takeAcked()) {
    // The record may already be gone if the full ring dropped it meanwhile.
    if (inflightRecord_ != 0 && ring_.frontId() == inflightRecord_) ring_.pop();
    inflightRecord_ = 0;
    ++delivered_;
  }
  if (!mqtt_.inflight()) inflightRecord_ = 0;  // connection lost: resend after reconnect
  if (mqtt_.canPublishQos1() && ring_.depth() > 0) {
    std::string payload;
    if (ring_.peek(payload) && mqtt_.publishQos1(topic_, payload)) inflightRecord_ = ring_.frontId();
  }
}

std::string SensorNode::heartbeatJson(int rssiDbm) const {
  using json::Value;
  Value hb = Value::object();
  hb.set("v", Value::integer(1));
  hb.set("kind", Value::string("heartbeat"));
  hb.set("deviceId", Value::string(cfg_.deviceId));
  hb.set("facilityId", Value::string(cfg_.facilityId));
  hb.set("ts", Value::integer(wall_.timeSet() ? wall_.unixSeconds() : 0));
  hb.set("fw", Value::string(cfg_.firmwareVersion));
  hb.set("uptimeS", Value::integer(static_cast<int64_t>((mono_.nowMs() - bootMs_) / 1000)));
  hb.set("bufferDepth", Value::integer(static_cast<int64_t>(ring_.depth())));
  hb.set("bufferBytes", Value::integer(static_cast<int64_t>(ring_.bytesUsed())));
  hb.set("bufferCapacityBytes", Value::integer(static_cast<int64_t>(ring_.capacityBytes())));
  hb.set("dropped", Value::integer(static_cast<int64_t>(ring_.dropped())));
  hb.set("corrupt", Value::integer(static_cast<int64_t>(ring_.corrupt())));
  hb.set("lastSeq", Value::integer(seq_.last()));
  hb.set("rssiDbm", Value::integer(rssiDbm));
  hb.set("timeSet", Value::boolean(wall_.timeSet()));
  // flue gas measured before the clock was set or during a storage fault, waiting in RAM
  // (lost by a power cut), and how many of those the bound dropped
  hb.set("held", Value::integer(static_cast<int64_t>(held_.size())));
  hb.set("heldDropped", Value::integer(static_cast<int64_t>(heldDropped_)));
  Value faults = Value::array();
  for (auto& n : faultNames(faults_)) faults.push(Value::string(n));
  hb.set("faults", std::move(faults));
  std::string canon;
  json::canonicalize(hb, canon);
  Signature sig{};
  Value env = Value::object();
  env.set("heartbeat", std::move(hb));
  if (signer_.sign(sha256(canon), sig)) env.set("sig", Value::string("0x" + toHex(sig)));
  std::string out;
  json::canonicalize(env, out);
  return out;
}

bool SensorNode::publishHeartbeat(int rssiDbm) {
  return mqtt_.publishQos0(heartbeatTopic(cfg_.facilityId, cfg_.deviceId), heartbeatJson(rssiDbm));
}

}  // namespace cp
