#include <doctest/doctest.h>

#include <cstdio>

#include "carbonproof/bytes.h"
#include "carbonproof/crypto.h"
#include "posix.h"
#include "test_support.h"

using namespace cp;

TEST_CASE("sha256 known answers (FIPS 180-2)") {
  CHECK(toHex(sha256("abc")) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(toHex(sha256("")) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("p256 signatures are deterministic - low-s and verify") {
  std::string err;
  auto s = MbedtlsP256Signer::generate(&err);
  REQUIRE(s);
  for (int i = 0; i < 32; ++i) {
    Digest d = sha256("reading " + std::to_string(i));
    Signature a, b;
    REQUIRE(s->sign(d, a));
    REQUIRE(s->sign(d, b));
    CHECK(a == b);
    CHECK(isLowS(a));
    CHECK(verifyP256(s->publicKey(), d, a));
    Digest other = d;
    other[0] ^= 1;
    CHECK_FALSE(verifyP256(s->publicKey(), other, a));
  }
}

TEST_CASE("high-s form of a valid signature is rejected") {
  std::string err;
  auto s = MbedtlsP256Signer::generate(&err);
  REQUIRE(s);
  Digest d = sha256("x");
  Signature sig;
  REQUIRE(s->sign(d, sig));
  // n - s, computed by hand with the P-256 order.
  std::vector<uint8_t> n;
  fromHex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", n);
  Signature high = sig;
  int borrow = 0;
  for (int i = 31; i >= 0; --i) {
    int v = n[i] - sig[32 + i] - borrow;
    borrow = v < 0;
    high[32 + i] = static_cast<uint8_t>(v + (borrow ? 256 : 0));
  }
  CHECK_FALSE(isLowS(high));
  CHECK_FALSE(verifyP256(s->publicKey(), d, high));
  CHECK(normalizeLowS(high));
  CHECK(high == sig);
}

TEST_CASE("private key PEM round-trips and a scalar gives the same public key") {
  std::string err;
  auto s = MbedtlsP256Signer::generate(&err);
  REQUIRE(s);
  std::string pem = s->privateKeyPem();
  CHECK(pem.find("BEGIN PRIVATE KEY") != std::string::npos);
  auto back = MbedtlsP256Signer::fromPem(pem, &err);
  REQUIRE_MESSAGE(back, err);
  CHECK(back->publicKey() == s->publicKey());
  // RFC 6979 A.2.5 P-256 key: x = C9AFA9D8…, Ux = 60FED4BA…
  std::vector<uint8_t> d;
  fromHex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", d);
  auto k = MbedtlsP256Signer::fromScalar(d.data(), &err);
  REQUIRE(k);
  CHECK(toHex(k->publicKey()) ==
        "0460fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb67903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299");
  CHECK_FALSE(MbedtlsP256Signer::fromPem("-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n", &err));
}

TEST_CASE("rfc 6979 A.2.5 deterministic signature of 'sample' with SHA-256") {
  std::vector<uint8_t> d;
  fromHex("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721", d);
  std::string err;
  auto k = MbedtlsP256Signer::fromScalar(d.data(), &err);
  REQUIRE(k);
  Signature sig;
  REQUIRE(k->sign(sha256("sample"), sig));
  // r and s from RFC 6979 A.2.5 (SHA-256, message "sample"); s there is high, so low-s is n - s.
  CHECK(toHex(sig.data(), 32) == "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716");
  Signature rfc = sig;
  std::vector<uint8_t> s;
  fromHex("f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8", s);
  std::copy(s.begin(), s.end(), rfc.begin() + 32);
  normalizeLowS(rfc);
  CHECK(toHex(sig.data() + 32, 32) == toHex(rfc.data() + 32, 32));
}

TEST_CASE("node:crypto verifies a firmware signature (ieee-p1363 - P-256)") {
  const char* nodeBin = CP_REPO_ROOT "/node_modules/.bin/node";
  std::string node = access(nodeBin, X_OK) == 0 ? nodeBin : "node";
  if (std::system((node + " --version > /dev/null 2>&1").c_str()) != 0) {
    cptest::skip("node not installed; skipping the cross-check with node:crypto");
    return;
  }
  std::string err;
  auto s = MbedtlsP256Signer::generate(&err);
  REQUIRE(s);
  std::string dir = cptest::tempDir();
  std::string msg = R"({"a":1})";
  Signature sig;
  REQUIRE(s->sign(sha256(msg), sig));
  REQUIRE(host::writeFile(dir + "/key.pem", s->privateKeyPem()));
  std::string script =
      "const c=require('node:crypto');const fs=require('node:fs');"
      "const key=c.createPublicKey(c.createPrivateKey(fs.readFileSync(process.argv[2])));"
      "const ok=c.verify('sha256',Buffer.from(process.argv[3]),{key,dsaEncoding:'ieee-p1363'},Buffer.from(process.argv[4],'hex'));"
      "process.exit(ok?0:1)";
  REQUIRE(host::writeFile(dir + "/v.cjs", script));
  std::string cmd = node + " " + dir + "/v.cjs " + dir + "/key.pem '" + msg + "' " + toHex(sig);
  CHECK(std::system(cmd.c_str()) == 0);
}
