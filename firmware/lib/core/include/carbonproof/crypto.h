// SHA-256 and ECDSA P-256 (secp256r1) signing behind a Signer interface.
//
// Signatures are 64 bytes r‖s, big-endian, normalised to low-s (s <= n/2) as
// docs/protocol.md requires. The mbedTLS signer uses deterministic k (RFC 6979
// with SHA-256), so for a given key and digest it yields the same bytes as
// @noble/curves' p256.sign(digest, key, { lowS: true }).
#pragma once
#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace cp {

using Digest = std::array<uint8_t, 32>;
using Signature = std::array<uint8_t, 64>;
using PublicKey = std::array<uint8_t, 65>;  // uncompressed: 0x04 ‖ x ‖ y

Digest sha256(const void* data, size_t len);
inline Digest sha256(const std::string& s) { return sha256(s.data(), s.size()); }

// Something that holds a device key and signs reading digests. On the board the
// key may live in a secure element (see src/board/atecc608_signer.h); on the
// host and in tests it is a PEM file handled by MbedtlsP256Signer.
class Signer {
 public:
  virtual ~Signer() = default;
  // Signs a 32-byte digest (the digest is the ECDSA message hash); low-s r‖s.
  virtual bool sign(const Digest& digest, Signature& out) = 0;
  virtual PublicKey publicKey() const = 0;
};

class MbedtlsP256Signer final : public Signer {
 public:
  ~MbedtlsP256Signer() override;
  MbedtlsP256Signer(const MbedtlsP256Signer&) = delete;
  MbedtlsP256Signer& operator=(const MbedtlsP256Signer&) = delete;

  // PEM: SEC1 "EC PRIVATE KEY" or PKCS#8 "PRIVATE KEY", curve must be P-256.
  static std::unique_ptr<MbedtlsP256Signer> fromPem(const std::string& pem, std::string* err);
  // Raw 32-byte private scalar, big-endian (e.g. from test vectors).
  static std::unique_ptr<MbedtlsP256Signer> fromScalar(const uint8_t d[32], std::string* err);
  // Fresh key from the platform entropy source.
  static std::unique_ptr<MbedtlsP256Signer> generate(std::string* err);

  bool sign(const Digest& digest, Signature& out) override;
  PublicKey publicKey() const override { return pub_; }
  // PKCS#8 PEM of the private key, the layout the sdk reads and writes.
  std::string privateKeyPem() const;

 private:
  struct Impl;
  explicit MbedtlsP256Signer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  PublicKey pub_{};
};

// Verifies r‖s over digest with an uncompressed P-256 public key. Rejects
// high-s signatures, as the oracle and the on-chain verifier do.
bool verifyP256(const PublicKey& pub, const Digest& digest, const Signature& sig);

// Replaces s by n - s when s > n/2. Returns false on malformed input.
bool normalizeLowS(Signature& sig);
bool isLowS(const Signature& sig);

}  // namespace cp
