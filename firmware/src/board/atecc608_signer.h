// BOARD-ONLY, UNTESTED STUB: device key in a Microchip ATECC608 secure element.
//
// The private key is generated inside the chip (slot CP_ATECC_KEY_SLOT) and
// never leaves it; the chip signs the 32-byte reading digest with P-256
// (random k) and the result is normalised to low-s here, as the protocol
// requires. Uses the ArduinoECCX08 library (I2C 0x60). Built only with
// -DCP_USE_ATECC608=1 (env esp32dev-atecc608); type-checked on the host against
// declaration stubs, never run. Provisioning (configuration written and
// locked, key generated) is a one-time step with the library's ECCX08CSR
// example; see docs/firmware.md.
#pragma once
#if defined(CP_USE_ATECC608) && CP_USE_ATECC608

#include <ArduinoECCX08.h>

#include <algorithm>

#include "carbonproof/crypto.h"

#ifndef CP_ATECC_KEY_SLOT
#define CP_ATECC_KEY_SLOT 0
#endif

namespace cp::board {

class Atecc608Signer final : public Signer {
 public:
  // Wire must already be started (shared bus with the SDP810).
  bool begin() {
    if (!ECCX08.begin() || !ECCX08.locked()) return false;  // unprovisioned chip: refuse
    uint8_t raw[64];
    if (!ECCX08.generatePublicKey(CP_ATECC_KEY_SLOT, raw)) return false;  // derives, does not replace
    pub_[0] = 0x04;
    std::copy(raw, raw + 64, pub_.begin() + 1);
    return true;
  }
  bool sign(const Digest& digest, Signature& out) override {
    if (!ECCX08.ecSign(CP_ATECC_KEY_SLOT, digest.data(), out.data())) return false;
    return normalizeLowS(out);  // the chip does not enforce low-s
  }
  PublicKey publicKey() const override { return pub_; }

 private:
  PublicKey pub_{};
};

}  // namespace cp::board

#endif
