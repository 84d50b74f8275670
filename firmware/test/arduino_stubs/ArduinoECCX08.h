#pragma once
// Declarations from arduino-libraries/ArduinoECCX08 1.3 (ECCX08.h) used by src/board/atecc608_signer.h.
#include "Arduino.h"
typedef uint8_t byte;
class ECCX08Class {
 public:
  int begin();
  int locked();
  int generatePublicKey(int slot, byte publicKey[]);
  int ecSign(int slot, const byte message[], byte signature[]);
};
extern ECCX08Class ECCX08;
