// Per-device monotonic reading sequence numbers that survive reboots.
//
// Write-ahead: before a seq is handed out, a high-water mark above it is made
// durable. After a crash the device resumes from the persisted mark, so a seq
// may be skipped but is never reused (the oracle rejects a replayed
// (deviceId, seq)). Reserving in blocks bounds flash writes to one per block.
#pragma once
#include <cstdint>
#include <string>

namespace cp {

class SeqStore {
 public:
  virtual ~SeqStore() = default;
  // Next seq, or false if the mark could not be persisted (no reading then).
  virtual bool next(int64_t& seq) = 0;
  // Last seq handed out, -1 if none since boot.
  virtual int64_t last() const = 0;
};

// Where the high-water mark lives: a file on the host, NVS on the ESP32.
class SeqBackend {
 public:
  virtual ~SeqBackend() = default;
  // found=false when nothing was ever stored (a fresh device). False on a
  // read error or corrupt record: refuse to guess, a guess could reuse seqs.
  virtual bool load(bool& found, int64_t& mark) = 0;
  virtual bool store(int64_t mark) = 0;  // durable when it returns true
};

class ReservingSeqStore final : public SeqStore {
 public:
  ReservingSeqStore(SeqBackend& backend, int64_t block = 16) : backend_(backend), block_(block < 1 ? 1 : block) {}
  // Reads the mark; must succeed before next().
  bool begin(std::string* err = nullptr);
  bool next(int64_t& seq) override;
  int64_t last() const override { return last_; }

 private:
  SeqBackend& backend_;
  int64_t block_;
  int64_t next_ = 0;
  int64_t mark_ = 0;  // seqs < mark_ are covered by the durable reservation
  int64_t last_ = -1;
  bool ready_ = false;
};

// File-backed mark: 8-byte big-endian value + CRC-32, written to a temporary
// file, fsync'ed, and renamed over the old one (atomic on POSIX and LittleFS).
// On POSIX the directory is fsync'ed too, or the rename might not survive a
// power cut; LittleFS commits a rename atomically, and its ESP-IDF VFS cannot
// open a directory, so syncDir is false there.
class FileSeqBackend final : public SeqBackend {
 public:
  explicit FileSeqBackend(std::string path, bool syncDir = true) : path_(std::move(path)), syncDir_(syncDir) {}
  bool load(bool& found, int64_t& mark) override;
  bool store(int64_t mark) override;

 private:
  std::string path_;
  bool syncDir_;
};

// The mark kept in two places, the larger one used: each copy can be wiped on
// its own (on the ESP32 the Arduino core erases the whole NVS partition when
// nvs_flash_init reports no free pages or a new NVS version, and
// `pio run -t uploadfs` rewrites LittleFS), and a fresh-looking mark would
// restart seqs at 0, every one of them then rejected by the oracle as a replay.
// A store counts only when both copies took it, so any copy that is present
// covers every seq handed out: load takes the larger mark of those present,
// and fails only when no copy holds a mark and one cannot be read (it may hold
// the only one).
class MirroredSeqBackend final : public SeqBackend {
 public:
  MirroredSeqBackend(SeqBackend& primary, SeqBackend& mirror) : primary_(primary), mirror_(mirror) {}
  bool load(bool& found, int64_t& mark) override;
  bool store(int64_t mark) override;
  // After load: which copy was missing or unreadable while the other held a
  // mark (for the log: the NVS erase or LittleFS rewrite it recovered from).
  bool primaryLost() const { return primaryLost_; }
  bool mirrorLost() const { return mirrorLost_; }

 private:
  SeqBackend& primary_;
  SeqBackend& mirror_;
  bool primaryLost_ = false, mirrorLost_ = false;
};

}  // namespace cp
