#pragma once
// ESP-IDF 4.4 components/bootloader_support/include/bootloader_random.h (in the
// arduino-esp32 2.0.x include path).
#ifdef __cplusplus
extern "C" {
#endif
void bootloader_random_enable(void);
void bootloader_random_disable(void);
#ifdef __cplusplus
}
#endif
