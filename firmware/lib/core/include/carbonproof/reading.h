// Reading v1 (docs/protocol.md): integer fixed-point fields, units in names.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "carbonproof/crypto.h"
#include "carbonproof/json.h"

namespace cp {

struct FlueGas {
  int64_t co2Ppm = 0;          // ppm by volume
  int64_t tempCentiC = 0;      // stack temperature, 0.01 °C, may be negative (> -27315)
  int64_t velocityMmS = 0;     // gas velocity, mm/s
  int64_t pressurePa = 0;      // absolute stack pressure, Pa
  int64_t ductDiameterMm = 0;  // duct diameter, mm
};

struct Electricity {
  int64_t energyWh = 0;                 // grid import over the interval
  std::optional<int64_t> renewableWh;  // on-site renewable generation consumed
};

enum class ReadingKind { FlueGas, Electricity };

struct Reading {
  std::string deviceId;
  std::string facilityId;
  int64_t seq = 0;
  int64_t ts = 0;         // unix seconds at the end of the interval
  int64_t intervalS = 1;  // seconds covered, >= 1
  ReadingKind kind = ReadingKind::FlueGas;
  FlueGas flueGas;
  Electricity electricity;
};

// 1–32 characters of [a-z0-9][a-z0-9._-]*.
bool isValidId(const std::string& id);

// Field-level checks of docs/protocol.md (ids, seq >= 0, intervalS >= 1,
// measurements >= 0 except tempCentiC > -27315, safe integers).
bool validateReading(const Reading& r, std::string* err = nullptr);

json::Value readingToJson(const Reading& r);
// Accepts kinds "flue-gas" and "electricity" (what this firmware produces);
// rejects unknown or missing fields.
bool readingFromJson(const json::Value& v, Reading& out, std::string* err = nullptr);

// RFC 8785 bytes of the reading; false if the reading is invalid.
bool canonicalReading(const Reading& r, std::string& out, std::string* err = nullptr);

struct SignedReading {
  Reading reading;
  std::string canonical;  // RFC 8785 bytes
  Digest digest{};        // SHA-256(canonical)
  Signature sig{};        // low-s r‖s
};

// Canonicalises, hashes and signs.
bool signReading(const Reading& r, Signer& signer, SignedReading& out, std::string* err = nullptr);

// The envelope of docs/protocol.md: {"reading":…,"sig":"0x…","keyId":…}
// (keyId omitted when empty), serialised canonically.
std::string envelopeJson(const SignedReading& s, const std::string& keyId = "");

// Parses an envelope, re-canonicalises the reading and checks the signature.
bool verifyEnvelope(const std::string& envelope, const PublicKey& pub, Reading* out = nullptr,
                    std::string* err = nullptr);

}  // namespace cp
