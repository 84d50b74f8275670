#include "carbonproof/reading.h"

#include "carbonproof/bytes.h"

namespace cp {
namespace {

constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;

bool fail(std::string* err, const std::string& m) {
  if (err) *err = m;
  return false;
}

bool nonNeg(int64_t v, const char* name, std::string* err) {
  if (v < 0 || v > kMaxSafe) return fail(err, std::string(name) + " must be an integer in [0, 2^53)");
  return true;
}

const char* kindName(ReadingKind k) { return k == ReadingKind::FlueGas ? "flue-gas" : "electricity"; }

bool getInt(const json::Value& obj, const char* key, int64_t& out, std::string* err) {
  const json::Value* v = obj.find(key);
  if (!v) return fail(err, std::string("missing field ") + key);
  if (!v->isInt()) return fail(err, std::string(key) + " must be an integer");
  out = v->i;
  return true;
}

bool onlyKeys(const json::Value& obj, std::initializer_list<const char*> keys, const char* where, std::string* err) {
  for (const auto& m : obj.members) {
    bool known = false;
    for (const char* k : keys) known = known || m.key == k;
    if (!known) return fail(err, std::string("unknown field ") + m.key + " in " + where);
  }
  return true;
}

}  // namespace

bool isValidId(const std::string& id) {
  if (id.empty() || id.size() > 32) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    char c = id[i];
    bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-'))) return false;
  }
  return true;
}

bool validateReading(const Reading& r, std::string* err) {
  if (!isValidId(r.deviceId)) return fail(err, "deviceId must be 1-32 chars of [a-z0-9][a-z0-9._-]*");
  if (!isValidId(r.facilityId)) return fail(err, "facilityId must be 1-32 chars of [a-z0-9][a-z0-9._-]*");
  if (!nonNeg(r.seq, "seq", err) || !nonNeg(r.ts, "ts", err)) return false;
  if (r.intervalS < 1 || r.intervalS > kMaxSafe) return fail(err, "intervalS must be >= 1");
  if (r.kind == ReadingKind::FlueGas) {
    const FlueGas& m = r.flueGas;
    if (!nonNeg(m.co2Ppm, "co2Ppm", err) || !nonNeg(m.velocityMmS, "velocityMmS", err) ||
        !nonNeg(m.pressurePa, "pressurePa", err) || !nonNeg(m.ductDiameterMm, "ductDiameterMm", err))
      return false;
    if (m.tempCentiC <= -27315 || m.tempCentiC > kMaxSafe)
      return fail(err, "tempCentiC must be > -27315 (above absolute zero)");
  } else {
    if (!nonNeg(r.electricity.energyWh, "energyWh", err)) return false;
    if (r.electricity.renewableWh && !nonNeg(*r.electricity.renewableWh, "renewableWh", err)) return false;
  }
  return true;
}

json::Value readingToJson(const Reading& r) {
  using json::Value;
  Value o = Value::object();
  o.set("v", Value::integer(1));
  o.set("deviceId", Value::string(r.deviceId));
  o.set("facilityId", Value::string(r.facilityId));
  o.set("seq", Value::integer(r.seq));
  o.set("ts", Value::integer(r.ts));
  o.set("intervalS", Value::integer(r.intervalS));
  o.set("kind", Value::string(kindName(r.kind)));
  Value m = Value::object();
  if (r.kind == ReadingKind::FlueGas) {
    m.set("co2Ppm", Value::integer(r.flueGas.co2Ppm));
    m.set("tempCentiC", Value::integer(r.flueGas.tempCentiC));
    m.set("velocityMmS", Value::integer(r.flueGas.velocityMmS));
    m.set("pressurePa", Value::integer(r.flueGas.pressurePa));
    m.set("ductDiameterMm", Value::integer(r.flueGas.ductDiameterMm));
  } else {
    m.set("energyWh", Value::integer(r.electricity.energyWh));
    if (r.electricity.renewableWh) m.set("renewableWh", Value::integer(*r.electricity.renewableWh));
  }
  o.set("m", std::move(m));
  return o;
}

bool readingFromJson(const json::Value& v, Reading& out, std::string* err) {
  if (!v.isObject()) return fail(err, "reading must be a JSON object");
  if (!onlyKeys(v, {"v", "deviceId", "facilityId", "seq", "ts", "intervalS", "kind", "m"}, "reading", err))
    return false;
  int64_t ver;
  if (!getInt(v, "v", ver, err)) return false;
  if (ver != 1) return fail(err, "unsupported reading version " + std::to_string(ver));
  const json::Value* dev = v.find("deviceId");
  const json::Value* fac = v.find("facilityId");
  const json::Value* kind = v.find("kind");
  const json::Value* m = v.find("m");
  if (!dev || !dev->isString() || !fac || !fac->isString()) return fail(err, "deviceId/facilityId must be strings");
  if (!kind || !kind->isString()) return fail(err, "kind must be a string");
  if (!m || !m->isObject()) return fail(err, "m must be an object");
  Reading r;
  r.deviceId = dev->s;
  r.facilityId = fac->s;
  if (!getInt(v, "seq", r.seq, err) || !getInt(v, "ts", r.ts, err) || !getInt(v, "intervalS", r.intervalS, err))
    return false;
  if (kind->s == "flue-gas") {
    r.kind = ReadingKind::FlueGas;
    if (!onlyKeys(*m, {"co2Ppm", "tempCentiC", "velocityMmS", "pressurePa", "ductDiameterMm"}, "m", err)) return false;
    if (!getInt(*m, "co2Ppm", r.flueGas.co2Ppm, err) || !getInt(*m, "tempCentiC", r.flueGas.tempCentiC, err) ||
        !getInt(*m, "velocityMmS", r.flueGas.velocityMmS, err) ||
        !getInt(*m, "pressurePa", r.flueGas.pressurePa, err) ||
        !getInt(*m, "ductDiameterMm", r.flueGas.ductDiameterMm, err))
      return false;
  } else if (kind->s == "electricity") {
    r.kind = ReadingKind::Electricity;
    if (!onlyKeys(*m, {"energyWh", "renewableWh"}, "m", err)) return false;
    if (!getInt(*m, "energyWh", r.electricity.energyWh, err)) return false;
    if (m->find("renewableWh")) {
      int64_t rw;
      if (!getInt(*m, "renewableWh", rw, err)) return false;
      r.electricity.renewableWh = rw;
    }
  } else {
    return fail(err, "kind \"" + kind->s + "\" is not produced by this firmware");
  }
  if (!validateReading(r, err)) return false;
  out = std::move(r);
  return true;
}

bool canonicalReading(const Reading& r, std::string& out, std::string* err) {
  if (!validateReading(r, err)) return false;
  return json::canonicalize(readingToJson(r), out, err);
}

bool signReading(const Reading& r, Signer& signer, SignedReading& out, std::string* err) {
  SignedReading s;
  s.reading = r;
  if (!canonicalReading(r, s.canonical, err)) return false;
  s.digest = sha256(s.canonical);
  if (!signer.sign(s.digest, s.sig)) return fail(err, "signer failed");
  out = std::move(s);
  return true;
}

std::string envelopeJson(const SignedReading& s, const std::string& keyId) {
  json::Value env = json::Value::object();
  env.set("reading", readingToJson(s.reading));
  env.set("sig", json::Value::string("0x" + toHex(s.sig)));
  if (!keyId.empty()) env.set("keyId", json::Value::string(keyId));
  std::string out;
  json::canonicalize(env, out);
  return out;
}

bool verifyEnvelope(const std::string& envelope, const PublicKey& pub, Reading* out, std::string* err) {
  json::Value env;
  if (!json::parse(envelope, env, err)) return false;
  if (!env.isObject()) return fail(err, "envelope must be an object");
  const json::Value* rv = env.find("reading");
  const json::Value* sv = env.find("sig");
  if (!rv || !sv || !sv->isString()) return fail(err, "envelope needs reading and sig");
  std::vector<uint8_t> sigBytes;
  if (sv->s.size() != 130 || sv->s.compare(0, 2, "0x") != 0 || !fromHex(sv->s, sigBytes) || sigBytes.size() != 64)
    return fail(err, "sig must be 0x + 128 hex chars");
  std::string canon;
  if (!json::canonicalize(*rv, canon, err)) return false;
  Signature sig;
  std::copy(sigBytes.begin(), sigBytes.end(), sig.begin());
  if (!verifyP256(pub, sha256(canon), sig)) return fail(err, "signature does not verify (or is high-s)");
  if (out && !readingFromJson(*rv, *out, err)) return false;
  return true;
}

}  // namespace cp
