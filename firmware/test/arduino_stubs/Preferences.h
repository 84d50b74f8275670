#pragma once
#include "Arduino.h"
class Preferences {
 public:
  bool begin(const char* name, bool readOnly = false, const char* partition_label = nullptr);
  void end();
  bool isKey(const char* key);
  size_t putLong64(const char* key, int64_t value);
  int64_t getLong64(const char* key, int64_t defaultValue = 0);
  size_t putString(const char* key, const char* value);
  String getString(const char* key, String defaultValue = String());
};
