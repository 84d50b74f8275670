// BOARD-ONLY, UNTESTED STUB: device key in a Microchip ATECC608 secure element.
//
// The private key is generated inside the chip (slot CP_ATECC_KEY_SLOT, locked
// config) and never leaves it; the chip signs the 32-byte reading digest with
// P-256 (random k) and the result is normalised to low-s here, as the protocol
// requires. Built only with -DCP_USE_ATECC608=1 (env esp32dev-atecc608) and
// cryptoauthlib; not compiled or tested on the host. Provisioning (config zone
// lock, key generation) is a one-time step described in docs/firmware.md.
#pragma once
#if defined(CP_USE_ATECC608) && CP_USE_ATECC608

#include <cryptoauthlib.h>

#include <algorithm>

#include "carbonproof/crypto.h"

#ifndef CP_ATECC_KEY_SLOT
#define CP_ATECC_KEY_SLOT 0
#endif

namespace cp::board {

class Atecc608Signer final : public Signer {
 public:
  // I2C address 0x60 (7-bit) on the shared bus; Wire must be started.
  bool begin() {
    ATCAIfaceCfg cfg = cfg_ateccx08a_i2c_default;
    cfg.atcai2c.address = 0xC0;  // 8-bit form of 0x60
    cfg.atcai2c.bus = 0;
    if (atcab_init(&cfg) != ATCA_SUCCESS) return false;
    uint8_t raw[64];
    if (atcab_get_pubkey(CP_ATECC_KEY_SLOT, raw) != ATCA_SUCCESS) return false;
    pub_[0] = 0x04;
    std::copy(raw, raw + 64, pub_.begin() + 1);
    return true;
  }
  bool sign(const Digest& digest, Signature& out) override {
    if (atcab_sign(CP_ATECC_KEY_SLOT, digest.data(), out.data()) != ATCA_SUCCESS) return false;
    return normalizeLowS(out);  // the chip does not enforce low-s
  }
  PublicKey publicKey() const override { return pub_; }

 private:
  PublicKey pub_{};
};

}  // namespace cp::board

#endif
