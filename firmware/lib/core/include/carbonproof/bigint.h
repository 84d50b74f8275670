// Small RAII wrapper over mbedtls_mpi for the integer formulas. mbedtls_mpi_uint
// is 32-bit on the ESP32 and 64-bit on x86-64, so values go in and out as
// big-endian bytes rather than through mbedtls_mpi_lset().
#pragma once
#include <mbedtls/bignum.h>

#include <cstdint>

namespace cp {

class BigInt {
 public:
  BigInt() { mbedtls_mpi_init(&v_); }
  explicit BigInt(uint64_t x) : BigInt() { setU64(x); }
  ~BigInt() { mbedtls_mpi_free(&v_); }
  BigInt(const BigInt& o) : BigInt() { mbedtls_mpi_copy(&v_, &o.v_); }
  BigInt& operator=(const BigInt& o) {
    if (this != &o) mbedtls_mpi_copy(&v_, &o.v_);
    return *this;
  }

  void setU64(uint64_t x) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[7 - i] = static_cast<unsigned char>(x >> (8 * i));
    mbedtls_mpi_read_binary(&v_, b, 8);
  }
  // False if negative or wider than 64 bits.
  bool toU64(uint64_t& out) const {
    if (mbedtls_mpi_cmp_int(&v_, 0) < 0 || mbedtls_mpi_bitlen(&v_) > 64) return false;
    unsigned char b[8];
    if (mbedtls_mpi_write_binary(&v_, b, 8) != 0) return false;
    out = 0;
    for (int i = 0; i < 8; ++i) out = out << 8 | b[i];
    return true;
  }
  BigInt& mul(const BigInt& o) {
    BigInt r;
    mbedtls_mpi_mul_mpi(&r.v_, &v_, &o.v_);
    mbedtls_mpi_copy(&v_, &r.v_);
    return *this;
  }
  BigInt& mul(uint64_t x) { return mul(BigInt(x)); }
  // Truncating division; callers keep operands non-negative so this floors.
  BigInt& div(const BigInt& o) {
    BigInt q;
    mbedtls_mpi_div_mpi(&q.v_, nullptr, &v_, &o.v_);
    mbedtls_mpi_copy(&v_, &q.v_);
    return *this;
  }
  bool isZero() const { return mbedtls_mpi_cmp_int(&v_, 0) == 0; }

 private:
  mbedtls_mpi v_;
};

}  // namespace cp
