// Store-and-forward ring buffer in a file (a host file, or a LittleFS file on
// the ESP32 flash through the ESP-IDF VFS).
//
// Layout: two metadata slots (A/B, newest valid generation wins) and N
// fixed-size record slots. A record carries a monotonically increasing id, its
// length and a CRC-32; record id k lives in slot (k-1) mod N. Opening the file
// scans every slot and keeps the valid records with id > "consumed" (from the
// metadata) in id order, so a torn write (power loss mid-record) loses only
// that record and corruption of one record never hides the others.
// Full buffer: the oldest record is overwritten (newest kept) and counted in
// dropped(), which persists and goes into the heartbeat.
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

namespace cp {

class FlashRing {
 public:
  static constexpr size_t kRecordHeader = 20;  // magic, id, len, crc

  FlashRing() = default;
  ~FlashRing();
  FlashRing(const FlashRing&) = delete;
  FlashRing& operator=(const FlashRing&) = delete;

  // Creates the file if missing (or repairs a short one). slots * slotSize
  // bytes of records; a record holds up to slotSize - kRecordHeader bytes.
  bool open(const std::string& path, uint32_t slots, uint32_t slotSize, std::string* err = nullptr);
  void close();

  // Appends a record durably (fsync). When full, drops the oldest.
  bool push(const std::string& payload, std::string* err = nullptr);
  // Oldest pending record. Records found corrupt on read are skipped and counted.
  bool peek(std::string& payload);
  // Marks the oldest as delivered (after the broker's PUBACK).
  bool pop();
  // Id of the oldest pending record (0 if none): lets the uplink pop exactly
  // the record it sent even if a full buffer dropped it in the meantime.
  uint64_t frontId() const { return queue_.empty() ? 0 : queue_.front(); }

  size_t depth() const { return queue_.size(); }
  uint32_t capacity() const { return slots_; }
  uint64_t dropped() const { return dropped_; }
  uint64_t corrupt() const { return corrupt_; }  // records lost to torn writes/corruption since open
  size_t maxPayload() const { return slotSize_ - kRecordHeader; }

 private:
  bool readSlot(uint32_t slot, uint64_t& id, std::string* payload);
  bool writeMeta();
  long slotOffset(uint32_t slot) const;

  FILE* f_ = nullptr;
  uint32_t slots_ = 0, slotSize_ = 0;
  uint64_t consumed_ = 0;  // highest id delivered or dropped
  uint64_t nextId_ = 1;
  uint64_t dropped_ = 0;
  uint64_t corrupt_ = 0;
  uint32_t metaGen_ = 0;
  std::deque<uint64_t> queue_;  // pending record ids, oldest first
};

}  // namespace cp
