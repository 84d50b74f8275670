#pragma once
// ESP-IDF 4.4 components/esp_system/include/esp_task_wdt.h (arduino-esp32 2.0.x).
#include <stdbool.h>
#include <stdint.h>
typedef int esp_err_t;
#define ESP_OK 0
#ifdef __cplusplus
extern "C" {
#endif
esp_err_t esp_task_wdt_init(uint32_t timeout, bool panic);
esp_err_t esp_task_wdt_reset(void);
#ifdef __cplusplus
}
#endif
