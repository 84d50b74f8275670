#pragma once
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>
#include <sys/time.h>
#define IRAM_ATTR
#define RTC_NOINIT_ATTR
#define HIGH 0x1
#define LOW 0x0
#define INPUT_PULLUP 0x05
#define OUTPUT 0x03
#define FALLING 0x02
#define SERIAL_8N1 0x800001c
typedef struct { int owner; int count; } portMUX_TYPE;
#define portMUX_INITIALIZER_UNLOCKED {0, 0}
void portENTER_CRITICAL(portMUX_TYPE*);
void portEXIT_CRITICAL(portMUX_TYPE*);
unsigned long millis();
void delay(uint32_t);
void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
int digitalPinToInterrupt(int pin);
void attachInterrupt(uint8_t pin, void (*)(void), int mode);
uint32_t esp_random(void);
void enableLoopWDT();  // esp32-hal.h (CONFIG_AUTOSTART_ARDUINO)
class EspClass {       // Esp.h
 public:
  void restart();
};
extern EspClass ESP;
void configTime(long gmtOffset_sec, int daylightOffset_sec, const char* server1, const char* server2 = nullptr,
                const char* server3 = nullptr);
class String {
 public:
  String(const char* s = "") : s_(s) {}
  const char* c_str() const { return s_.c_str(); }
 private:
  std::string s_;
};
class Stream {
 public:
  virtual ~Stream() = default;
  virtual int available() = 0;
  virtual int read() = 0;
  void setTimeout(unsigned long timeout);
  size_t readBytes(char* buffer, size_t length);
  size_t readBytes(uint8_t* buffer, size_t length) { return readBytes((char*)buffer, length); }
  size_t println(const char*);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
};
class HardwareSerial : public Stream {
 public:
  void begin(unsigned long baud, uint32_t config = SERIAL_8N1, int8_t rxPin = -1, int8_t txPin = -1,
             bool invert = false, unsigned long timeout_ms = 20000UL, uint8_t rxfifo_full_thrhd = 112);
  int available() override;
  int read() override;
  size_t write(const uint8_t* buffer, size_t size);
};
extern HardwareSerial Serial;
extern HardwareSerial Serial2;
