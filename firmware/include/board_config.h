// Pin map and board defaults for the CarbonProof chimney node (ESP32 DevKitC).
// Site-specific values (ids, Wi-Fi, broker, duct) come from /littlefs/device.json.
#pragma once

// Senseair S8 / K33 (Modbus RTU over UART2, 9600 8N1)
#define CP_PIN_S8_RX 16  // ESP32 RX2  <- sensor TxD (UART_TxD, pin G4 header)
#define CP_PIN_S8_TX 17  // ESP32 TX2  -> sensor RxD
#define CP_S8_BAUD 9600

// MAX31855 thermocouple amplifier (read-only SPI, VSPI)
#define CP_PIN_TC_SCK 18
#define CP_PIN_TC_MISO 19
#define CP_PIN_TC_CS 5

// SDP810 differential pressure (I2C, 0x25) and optional ATECC608 (0x60) on the same bus
#define CP_PIN_I2C_SDA 21
#define CP_PIN_I2C_SCL 22

// S0 pulse output of the energy meter (open collector, external 10k pull-up to 3V3)
#define CP_PIN_METER_PULSE 27
#define CP_METER_MIN_PULSE_GAP_MS 30  // S0 pulses are >= 30 ms (EN 62053-31): debounce below

// Status LED
#define CP_PIN_LED 2

// Store-and-forward log in LittleFS: 48 segments × 16 KiB = 768 KiB, about
// 1 900 readings of ~400 B: 2.6 hours of outage at one reading per 5 s, 32 hours
// at one per minute. Segments are append-only (LittleFS rewrites a file from a
// modified block onwards, so in-place rings wear the flash); each reading still
// costs about one 4 KiB block erase (flash lifetime estimate: docs/firmware.md).
#define CP_BUFFER_SEGMENTS 48
#define CP_BUFFER_SEGMENT_BYTES 16384
