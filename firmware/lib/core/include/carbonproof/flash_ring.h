// Store-and-forward buffer in flash: a segmented append-only log in a
// directory (a host directory, or LittleFS on the ESP32 through the VFS).
//
// Why a log and not a fixed-slot ring file: LittleFS is copy-on-write, and a
// write into the middle of a file rewrites the file from that block onwards, so
// an in-place ring would erase tens of blocks per reading. Appending is not free
// either: the first write after each fsync copies the file's partly filled last
// block into a freshly erased one (lfs_ctz_extend), so each durable record costs
// about one 4 KiB block erase, plus a metadata commit; LittleFS spreads the
// erases over the partition's free blocks. Estimated flash lifetime:
// docs/firmware.md (an estimate from LittleFS's design, to be measured on
// hardware).
//
// Segments `seg-<n>.log` hold records [magic, id, len, crc32, payload]; ids
// increase by one per record. `meta.bin` holds, in two CRC'd A/B slots, the
// highest id delivered ("consumed") and the dropped count. Opening scans the
// segments: a torn tail (power loss mid-record) or a corrupted record is
// skipped (the scanner resynchronises on the next record magic) and counted in
// corrupt(); every other record with id > consumed is pending, oldest first.
// Opening keeps appending to the newest segment, after cutting off a torn
// tail, so nothing is ever appended behind garbage and reboots use no space. When the log would exceed maxSegments, the oldest
// segment is deleted: the newest data is kept, and the pending records lost
// with it are counted in dropped() (persisted, reported in the heartbeat).
// Fully delivered segments are deleted as the log drains.
#pragma once
#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

namespace cp {

class FlashRing {
 public:
  static constexpr size_t kRecordHeader = 20;  // magic u32, id u64, len u32, crc u32

  FlashRing() = default;
  ~FlashRing();
  FlashRing(const FlashRing&) = delete;
  FlashRing& operator=(const FlashRing&) = delete;

  // dir is created if missing. Capacity is maxSegments × segmentBytes.
  bool open(const std::string& dir, uint32_t maxSegments, uint32_t segmentBytes, std::string* err = nullptr);
  void close();

  // Appends a record durably (fflush + fsync) before returning true.
  bool push(const std::string& payload, std::string* err = nullptr);
  // Oldest pending record. A record that no longer reads back intact is skipped and counted.
  bool peek(std::string& payload);
  // Marks the oldest as delivered (after the broker's PUBACK); durable.
  bool pop();

  size_t depth() const { return queue_.size(); }
  uint64_t dropped() const { return dropped_; }
  uint64_t corrupt() const { return corrupt_; }  // records found torn/corrupt since open
  // Segment files found at open that could not be read (an I/O error): set aside on flash as
  // unread-<n>.bin, records as they are, for recovery by hand; never deleted, never appended to.
  uint32_t unreadableSegments() const { return unreadable_; }
  uint64_t bytesUsed() const;                     // segment bytes on flash, including delivered records
  uint64_t capacityBytes() const { return uint64_t{maxSegments_} * segmentBytes_; }
  size_t maxPayload() const { return segmentBytes_ - kRecordHeader; }
  // Id of the oldest pending record (0 if none): lets the uplink pop exactly
  // the record it sent even if a full buffer dropped it in the meantime.
  uint64_t frontId() const { return queue_.empty() ? 0 : queue_.front().id; }

 private:
  struct Entry {
    uint64_t id;
    uint32_t segment;
    uint32_t offset;
    uint32_t len;
  };
  struct Segment {
    uint32_t number;
    uint32_t bytes;     // file size
    uint32_t validEnd;  // end of the last intact record
  };
  std::string segPath(uint32_t n) const;
  bool startSegment(std::string* err);
  bool dropOldestSegment(std::string* err);
  bool writeMeta();
  // Queues the pending records of segment n; returns the end of its last intact record.
  // `readable` false: the file could not be read (nothing queued, fileBytes 0).
  uint32_t scanSegment(uint32_t n, uint64_t& maxId, uint32_t& fileBytes, bool& readable);
  void deleteDeliveredSegments();

  std::string dir_;
  uint32_t maxSegments_ = 0, segmentBytes_ = 0;
  FILE* current_ = nullptr;  // open for append: the newest segment
  std::deque<Segment> segments_;  // oldest first; back() is current_
  std::deque<Entry> queue_;       // pending records, oldest first
  uint64_t consumed_ = 0;
  uint64_t nextId_ = 1;
  uint64_t dropped_ = 0;
  uint64_t corrupt_ = 0;
  uint32_t metaGen_ = 0;
  uint32_t lastNumber_ = 0;  // the highest segment number on flash, unreadable ones included
  uint32_t unreadable_ = 0;
  bool open_ = false;
};

}  // namespace cp
