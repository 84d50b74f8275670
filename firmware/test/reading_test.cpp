#include <doctest/doctest.h>

#include "carbonproof/bytes.h"
#include "carbonproof/reading.h"

using namespace cp;

static Reading protocolExample() {
  Reading r;
  r.deviceId = "kangaita-chimney-1";
  r.facilityId = "ktda-kangaita";
  r.seq = 42;
  r.ts = 1763900000;
  r.intervalS = 5;
  r.kind = ReadingKind::FlueGas;
  r.flueGas = {41000, 18550, 6200, 101325, 600};
  return r;
}

TEST_CASE("canonical bytes of the docs/protocol.md example reading") {
  std::string c, err;
  REQUIRE_MESSAGE(canonicalReading(protocolExample(), c, &err), err);
  CHECK(c == R"({"deviceId":"kangaita-chimney-1","facilityId":"ktda-kangaita","intervalS":5,"kind":"flue-gas",)"
             R"("m":{"co2Ppm":41000,"ductDiameterMm":600,"pressurePa":101325,"tempCentiC":18550,"velocityMmS":6200},)"
             R"("seq":42,"ts":1763900000,"v":1})");
}

TEST_CASE("electricity reading with optional renewableWh") {
  Reading r = protocolExample();
  r.kind = ReadingKind::Electricity;
  r.electricity.energyWh = 1234;
  std::string c;
  REQUIRE(canonicalReading(r, c));
  CHECK(c.find(R"("kind":"electricity","m":{"energyWh":1234},)") != std::string::npos);
  r.electricity.renewableWh = 50;
  REQUIRE(canonicalReading(r, c));
  CHECK(c.find(R"("m":{"energyWh":1234,"renewableWh":50})") != std::string::npos);
}

TEST_CASE("reading validation rejects bad ids - negative values and sub-absolute-zero temperature") {
  Reading r = protocolExample();
  std::string err;
  CHECK(validateReading(r, &err));
  r.deviceId = "Kangaita";
  CHECK_FALSE(validateReading(r, &err));
  r.deviceId = "-x";
  CHECK_FALSE(validateReading(r, &err));
  r.deviceId = std::string(33, 'a');
  CHECK_FALSE(validateReading(r, &err));
  r = protocolExample();
  r.intervalS = 0;
  CHECK_FALSE(validateReading(r, &err));
  r = protocolExample();
  r.flueGas.tempCentiC = -27315;
  CHECK_FALSE(validateReading(r, &err));
  r.flueGas.tempCentiC = -27314;
  CHECK(validateReading(r, &err));
  r.flueGas.co2Ppm = -1;
  CHECK_FALSE(validateReading(r, &err));
  CHECK(isValidId("a.b_c-9"));
}

TEST_CASE("reading JSON round-trips and unknown fields are rejected") {
  std::string c;
  REQUIRE(canonicalReading(protocolExample(), c));
  json::Value v;
  REQUIRE(json::parse(c, v));
  Reading back;
  std::string err;
  REQUIRE_MESSAGE(readingFromJson(v, back, &err), err);
  std::string c2;
  REQUIRE(canonicalReading(back, c2));
  CHECK(c == c2);
  json::Value extra = v;
  extra.set("extra", json::Value::integer(1));
  CHECK_FALSE(readingFromJson(extra, back, &err));
}

TEST_CASE("signed envelope verifies and a tampered reading does not") {
  std::string err;
  auto signer = MbedtlsP256Signer::generate(&err);
  REQUIRE(signer);
  SignedReading s;
  REQUIRE(signReading(protocolExample(), *signer, s, &err));
  std::string env = envelopeJson(s, "key-1");
  CHECK(env.find("\"keyId\":\"key-1\"") != std::string::npos);
  CHECK(env.find("\"sig\":\"0x" + toHex(s.sig) + "\"") != std::string::npos);
  Reading out;
  CHECK_MESSAGE(verifyEnvelope(env, signer->publicKey(), &out, &err), err);
  CHECK(out.seq == 42);
  std::string tampered = env;
  tampered.replace(tampered.find("41000"), 5, "40000");
  CHECK_FALSE(verifyEnvelope(tampered, signer->publicKey(), nullptr, &err));
}
