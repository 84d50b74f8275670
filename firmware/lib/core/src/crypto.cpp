#include "carbonproof/crypto.h"

#include <mbedtls/base64.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha256.h>
#include <mbedtls/version.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "carbonproof/bytes.h"

// mbedTLS 3.x (ESP-IDF 5) hides struct members behind MBEDTLS_PRIVATE();
// 2.28 (Debian 12, ESP-IDF 4.4) exposes them directly.
#if MBEDTLS_VERSION_MAJOR >= 3
#define CP_MBED(x) MBEDTLS_PRIVATE(x)
#else
#define CP_MBED(x) x
#endif

namespace cp {

Digest sha256(const void* data, size_t len) {
  Digest d{};
#if MBEDTLS_VERSION_MAJOR >= 3
  mbedtls_sha256(static_cast<const unsigned char*>(data), len, d.data(), 0);
#else
  mbedtls_sha256_ret(static_cast<const unsigned char*>(data), len, d.data(), 0);
#endif
  return d;
}

namespace {

struct Mpi {
  mbedtls_mpi v;
  Mpi() { mbedtls_mpi_init(&v); }
  ~Mpi() { mbedtls_mpi_free(&v); }
};

struct Group {
  mbedtls_ecp_group g;
  Group() {
    mbedtls_ecp_group_init(&g);
    mbedtls_ecp_group_load(&g, MBEDTLS_ECP_DP_SECP256R1);
  }
  ~Group() { mbedtls_ecp_group_free(&g); }
};

struct Rng {
  mbedtls_entropy_context entropy;
  mbedtls_ctr_drbg_context drbg;
  bool ok = false;
  Rng() {
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    static const char pers[] = "carbonproof-firmware";
    ok = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
                               reinterpret_cast<const unsigned char*>(pers), sizeof pers - 1) == 0;
  }
  ~Rng() {
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
  }
};

void setErr(std::string* err, const std::string& m) {
  if (err) *err = m;
}

}  // namespace

struct MbedtlsP256Signer::Impl {
  mbedtls_ecp_keypair kp;
  Rng rng;
  Impl() { mbedtls_ecp_keypair_init(&kp); }
  ~Impl() { mbedtls_ecp_keypair_free(&kp); }
};

MbedtlsP256Signer::MbedtlsP256Signer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  size_t olen = 0;
  mbedtls_ecp_point_write_binary(&impl_->kp.CP_MBED(grp), &impl_->kp.CP_MBED(Q), MBEDTLS_ECP_PF_UNCOMPRESSED,
                                 &olen, pub_.data(), pub_.size());
}

MbedtlsP256Signer::~MbedtlsP256Signer() = default;

std::unique_ptr<MbedtlsP256Signer> MbedtlsP256Signer::fromPem(const std::string& pem, std::string* err) {
  auto impl = std::make_unique<Impl>();
  if (!impl->rng.ok) return setErr(err, "entropy source failed"), nullptr;
  mbedtls_pk_context pk;
  mbedtls_pk_init(&pk);
  std::string z = pem;  // mbedTLS wants the terminating NUL counted for PEM
  int rc;
#if MBEDTLS_VERSION_MAJOR >= 3
  rc = mbedtls_pk_parse_key(&pk, reinterpret_cast<const unsigned char*>(z.c_str()), z.size() + 1, nullptr, 0,
                            mbedtls_ctr_drbg_random, &impl->rng.drbg);
#else
  rc = mbedtls_pk_parse_key(&pk, reinterpret_cast<const unsigned char*>(z.c_str()), z.size() + 1, nullptr, 0);
#endif
  if (rc != 0 || mbedtls_pk_get_type(&pk) != MBEDTLS_PK_ECKEY) {
    mbedtls_pk_free(&pk);
    return setErr(err, "not an EC private key in PEM (SEC1 or PKCS#8), mbedTLS error " + std::to_string(rc)),
           nullptr;
  }
  mbedtls_ecp_keypair* src = mbedtls_pk_ec(pk);
  if (src->CP_MBED(grp).id != MBEDTLS_ECP_DP_SECP256R1) {
    mbedtls_pk_free(&pk);
    return setErr(err, "key is not on P-256 (secp256r1)"), nullptr;
  }
  mbedtls_ecp_group_load(&impl->kp.CP_MBED(grp), MBEDTLS_ECP_DP_SECP256R1);
  mbedtls_mpi_copy(&impl->kp.CP_MBED(d), &src->CP_MBED(d));
  mbedtls_ecp_copy(&impl->kp.CP_MBED(Q), &src->CP_MBED(Q));
  mbedtls_pk_free(&pk);
  return std::unique_ptr<MbedtlsP256Signer>(new MbedtlsP256Signer(std::move(impl)));
}

std::unique_ptr<MbedtlsP256Signer> MbedtlsP256Signer::fromScalar(const uint8_t d[32], std::string* err) {
  auto impl = std::make_unique<Impl>();
  if (!impl->rng.ok) return setErr(err, "entropy source failed"), nullptr;
  auto& grp = impl->kp.CP_MBED(grp);
  mbedtls_ecp_group_load(&grp, MBEDTLS_ECP_DP_SECP256R1);
  if (mbedtls_mpi_read_binary(&impl->kp.CP_MBED(d), d, 32) != 0 ||
      mbedtls_ecp_check_privkey(&grp, &impl->kp.CP_MBED(d)) != 0)
    return setErr(err, "private scalar out of range for P-256"), nullptr;
  if (mbedtls_ecp_mul(&grp, &impl->kp.CP_MBED(Q), &impl->kp.CP_MBED(d), &grp.G, mbedtls_ctr_drbg_random,
                      &impl->rng.drbg) != 0)
    return setErr(err, "public key derivation failed"), nullptr;
  return std::unique_ptr<MbedtlsP256Signer>(new MbedtlsP256Signer(std::move(impl)));
}

std::unique_ptr<MbedtlsP256Signer> MbedtlsP256Signer::generate(std::string* err) {
  auto impl = std::make_unique<Impl>();
  if (!impl->rng.ok) return setErr(err, "entropy source failed"), nullptr;
  if (mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, &impl->kp, mbedtls_ctr_drbg_random, &impl->rng.drbg) != 0)
    return setErr(err, "key generation failed"), nullptr;
  return std::unique_ptr<MbedtlsP256Signer>(new MbedtlsP256Signer(std::move(impl)));
}

std::string MbedtlsP256Signer::privateKeyPem() const {
  // PKCS#8 "PRIVATE KEY", byte for byte the layout the sdk writes (sdk/src/reading/der.ts
  // encodePkcs8): SEQ { 0, AlgorithmIdentifier(ecPublicKey, prime256v1),
  // OCTET STRING { ECPrivateKey { 1, d, [1] publicKey } } }. mbedTLS 2.28 only writes SEC1.
  static const char* kHead =
      "308187020100301306072a8648ce3d020106082a8648ce3d030107046d306b0201010420";
  std::vector<uint8_t> der;
  fromHex(kHead, der);
  uint8_t d[32];
  if (mbedtls_mpi_write_binary(&impl_->kp.CP_MBED(d), d, 32) != 0) return "";
  der.insert(der.end(), d, d + 32);
  der.push_back(0xa1);
  der.push_back(0x44);
  der.push_back(0x03);
  der.push_back(0x42);
  der.push_back(0x00);
  der.insert(der.end(), pub_.begin(), pub_.end());
  mbedtls_platform_zeroize(d, sizeof d);
  unsigned char b64[256];
  size_t olen = 0;
  if (mbedtls_base64_encode(b64, sizeof b64, &olen, der.data(), der.size()) != 0) return "";
  mbedtls_platform_zeroize(der.data(), der.size());
  std::string out = "-----BEGIN PRIVATE KEY-----\n";
  for (size_t i = 0; i < olen; i += 64) out.append(reinterpret_cast<char*>(b64) + i, std::min<size_t>(64, olen - i)) += "\n";
  out += "-----END PRIVATE KEY-----\n";
  mbedtls_platform_zeroize(b64, sizeof b64);
  return out;
}

bool MbedtlsP256Signer::sign(const Digest& digest, Signature& out) {
  Mpi r, s;
  auto& grp = impl_->kp.CP_MBED(grp);
  // RFC 6979 deterministic k; the RNG only blinds the scalar multiplication.
  int rc = mbedtls_ecdsa_sign_det_ext(&grp, &r.v, &s.v, &impl_->kp.CP_MBED(d), digest.data(), digest.size(),
                                      MBEDTLS_MD_SHA256, mbedtls_ctr_drbg_random, &impl_->rng.drbg);
  if (rc != 0) return false;
  if (mbedtls_mpi_write_binary(&r.v, out.data(), 32) != 0 || mbedtls_mpi_write_binary(&s.v, out.data() + 32, 32) != 0)
    return false;
  return normalizeLowS(out);
}

bool isLowS(const Signature& sig) {
  Group grp;
  Mpi s, half;
  mbedtls_mpi_read_binary(&s.v, sig.data() + 32, 32);
  mbedtls_mpi_copy(&half.v, &grp.g.N);
  mbedtls_mpi_shift_r(&half.v, 1);
  return mbedtls_mpi_cmp_mpi(&s.v, &half.v) <= 0;
}

bool normalizeLowS(Signature& sig) {
  Group grp;
  Mpi s, half;
  if (mbedtls_mpi_read_binary(&s.v, sig.data() + 32, 32) != 0) return false;
  mbedtls_mpi_copy(&half.v, &grp.g.N);
  mbedtls_mpi_shift_r(&half.v, 1);
  if (mbedtls_mpi_cmp_mpi(&s.v, &half.v) > 0) {
    Mpi ns;
    if (mbedtls_mpi_sub_mpi(&ns.v, &grp.g.N, &s.v) != 0) return false;
    if (mbedtls_mpi_write_binary(&ns.v, sig.data() + 32, 32) != 0) return false;
  }
  return true;
}

bool verifyP256(const PublicKey& pub, const Digest& digest, const Signature& sig) {
  if (!isLowS(sig)) return false;
  Group grp;
  mbedtls_ecp_point q;
  mbedtls_ecp_point_init(&q);
  Mpi r, s;
  bool ok = mbedtls_ecp_point_read_binary(&grp.g, &q, pub.data(), pub.size()) == 0 &&
            mbedtls_ecp_check_pubkey(&grp.g, &q) == 0 && mbedtls_mpi_read_binary(&r.v, sig.data(), 32) == 0 &&
            mbedtls_mpi_read_binary(&s.v, sig.data() + 32, 32) == 0 &&
            mbedtls_ecdsa_verify(&grp.g, digest.data(), digest.size(), &q, &r.v, &s.v) == 0;
  mbedtls_ecp_point_free(&q);
  return ok;
}

}  // namespace cp
