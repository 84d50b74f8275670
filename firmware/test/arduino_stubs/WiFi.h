#pragma once
#include "Arduino.h"
typedef enum { WL_IDLE_STATUS = 0, WL_CONNECTED = 3, WL_DISCONNECTED = 6 } wl_status_t;
typedef enum { WIFI_OFF = 0, WIFI_STA = 1 } wifi_mode_t;
class WiFiClass {
 public:
  bool mode(wifi_mode_t);
  wl_status_t begin(const char* ssid, const char* passphrase = nullptr, int32_t channel = 0,
                    const uint8_t* bssid = nullptr, bool connect = true);
  wl_status_t status();
  bool disconnect(bool wifioff = false, bool eraseap = false);
  bool setAutoReconnect(bool autoReconnect);
  int8_t RSSI();
};
extern WiFiClass WiFi;
