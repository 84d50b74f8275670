#include "carbonproof/flash_ring.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "carbonproof/bytes.h"

namespace cp {
namespace {

constexpr uint32_t kMetaMagic = 0x4350524d;    // "CPRM"
constexpr uint32_t kRecordMagic = 0x43505253;  // "CPRS"
constexpr size_t kMetaSize = 32;               // magic gen consumed dropped crc (+pad)

void put32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}
void put64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (56 - 8 * i));
}
uint32_t get32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = v << 8 | p[i];
  return v;
}
uint64_t get64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | p[i];
  return v;
}
bool setErr(std::string* err, const std::string& m) {
  if (err) *err = m;
  return false;
}
bool syncFile(FILE* f) { return std::fflush(f) == 0 && fsync(fileno(f)) == 0; }

bool readAll(const std::string& path, std::vector<uint8_t>& out) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  out.clear();
  uint8_t buf[1024];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.insert(out.end(), buf, buf + n);
  bool ok = !std::ferror(f);
  std::fclose(f);
  return ok;
}

// Validates a record at `off`; returns its total size or 0.
size_t recordAt(const std::vector<uint8_t>& b, size_t off, uint32_t maxLen, uint64_t& id, uint32_t& len) {
  if (off + FlashRing::kRecordHeader > b.size() || get32(&b[off]) != kRecordMagic) return 0;
  id = get64(&b[off + 4]);
  len = get32(&b[off + 12]);
  if (id == 0 || len > maxLen || off + FlashRing::kRecordHeader + len > b.size()) return 0;
  uint32_t crc = crc32(&b[off + 4], 12);
  crc = crc32(&b[off + FlashRing::kRecordHeader], len, crc);
  if (crc != get32(&b[off + 16])) return 0;
  return FlashRing::kRecordHeader + len;
}

}  // namespace

FlashRing::~FlashRing() { close(); }

void FlashRing::close() {
  if (current_) std::fclose(current_);
  current_ = nullptr;
  segments_.clear();
  queue_.clear();
  open_ = false;
}

std::string FlashRing::segPath(uint32_t n) const {
  char name[32];
  std::snprintf(name, sizeof name, "/seg-%08u.log", static_cast<unsigned>(n));
  return dir_ + name;
}

uint64_t FlashRing::bytesUsed() const {
  uint64_t total = 0;
  for (const auto& s : segments_) total += s.bytes;
  return total;
}

bool FlashRing::open(const std::string& dir, uint32_t maxSegments, uint32_t segmentBytes, std::string* err) {
  close();
  if (maxSegments < 2 || segmentBytes <= kRecordHeader + 16)
    return setErr(err, "buffer needs >= 2 segments larger than a record header");
  dir_ = dir;
  maxSegments_ = maxSegments;
  segmentBytes_ = segmentBytes;
  consumed_ = dropped_ = corrupt_ = 0;
  nextId_ = 1;
  metaGen_ = 0;
  lastNumber_ = unreadable_ = 0;
  if (mkdir(dir_.c_str(), 0700) != 0 && errno != EEXIST) return setErr(err, "cannot create buffer dir " + dir_);

  std::vector<uint8_t> meta;
  if (readAll(dir_ + "/meta.bin", meta)) {
    bool have = false;
    for (size_t m = 0; m + kMetaSize <= meta.size() && m < 2 * kMetaSize; m += kMetaSize) {
      const uint8_t* b = &meta[m];
      if (get32(b) != kMetaMagic || get32(b + 28) != crc32(b, 28)) continue;
      uint32_t gen = get32(b + 4);
      if (!have || gen > metaGen_) {
        have = true;
        metaGen_ = gen;
        consumed_ = get64(b + 8);
        dropped_ = get64(b + 16);
      }
    }
  }

  std::vector<uint32_t> numbers;
  if (DIR* d = opendir(dir_.c_str())) {
    while (dirent* e = readdir(d)) {
      unsigned n;
      char tail;
      if (std::sscanf(e->d_name, "seg-%8u.lo%c", &n, &tail) == 2 && tail == 'g') numbers.push_back(n);
    }
    closedir(d);
  }
  std::sort(numbers.begin(), numbers.end());
  uint64_t maxId = consumed_;
  for (uint32_t n : numbers) {
    lastNumber_ = std::max(lastNumber_, n);
    uint32_t fileBytes = 0;
    bool readable = true;
    uint32_t validEnd = scanSegment(n, maxId, fileBytes, readable);
    if (!readable) {
      // An I/O error, not an empty file: it may hold pending readings (review: it was deleted as
      // if created just before a power cut). Set aside under another name, records as they are,
      // for recovery by hand (docs/firmware.md): read again later its records would sit below
      // the delivered watermark and be taken as delivered. Where even the rename fails, it stays
      // under its name and new segments are numbered past it, never appended to it.
      char aside[32];
      std::snprintf(aside, sizeof aside, "/unread-%08u.bin", static_cast<unsigned>(n));
      (void)std::rename(segPath(n).c_str(), (dir_ + aside).c_str());
      ++unreadable_;
      continue;
    }
    if (fileBytes == 0) {  // created just before a power cut: nothing in it
      std::remove(segPath(n).c_str());
      continue;
    }
    segments_.push_back(Segment{n, fileBytes, validEnd});
  }
  std::sort(queue_.begin(), queue_.end(), [](const Entry& a, const Entry& b) { return a.id < b.id; });
  // An unreadable segment's ids are unknown: new ids start past as many as it could hold, so none
  // is given twice when it reads again.
  nextId_ = maxId + 1 + uint64_t{unreadable_} * (segmentBytes_ / kRecordHeader + 1);
  open_ = true;
  deleteDeliveredSegments();
  if (!segments_.empty()) {
    // Keep appending to the newest segment (reboots must not use up segments,
    // or a full buffer would drop data on every reboot). A torn tail from a
    // power cut is cut off first so nothing is appended behind garbage; if the
    // file system cannot truncate, a fresh segment is started instead.
    Segment& last = segments_.back();
    std::string path = segPath(last.number);
    if (last.validEnd == last.bytes || truncate(path.c_str(), static_cast<off_t>(last.validEnd)) == 0) {
      last.bytes = last.validEnd;
      current_ = std::fopen(path.c_str(), "ab");
    }
  }
  if (!current_ && !startSegment(err)) return false;
  while (segments_.size() > maxSegments_)
    if (!dropOldestSegment(err)) return false;
  return true;
}

uint32_t FlashRing::scanSegment(uint32_t n, uint64_t& maxId, uint32_t& fileBytes, bool& readable) {
  std::vector<uint8_t> b;
  fileBytes = 0;
  readable = readAll(segPath(n), b);
  if (!readable) return 0;
  fileBytes = static_cast<uint32_t>(b.size());
  size_t off = 0, validEnd = 0;
  bool inGarbage = false;
  while (off + kRecordHeader <= b.size()) {
    uint64_t id;
    uint32_t len;
    size_t size = recordAt(b, off, segmentBytes_ - kRecordHeader, id, len);
    if (size == 0) {
      if (!inGarbage) ++corrupt_;  // one torn/corrupt record, however many bytes it spans
      inGarbage = true;
      ++off;  // resynchronise on the next record magic
      continue;
    }
    inGarbage = false;
    maxId = std::max(maxId, id);
    if (id > consumed_) queue_.push_back(Entry{id, n, static_cast<uint32_t>(off), len});
    off += size;
    validEnd = off;
  }
  if (!inGarbage && off < b.size()) ++corrupt_;  // a tail shorter than a header: torn write
  return static_cast<uint32_t>(validEnd);
}

bool FlashRing::startSegment(std::string* err) {
  if (current_) std::fclose(current_);
  uint32_t n = std::max(segments_.empty() ? 0 : segments_.back().number, lastNumber_) + 1;
  current_ = std::fopen(segPath(n).c_str(), "ab");
  if (!current_) return setErr(err, "cannot create " + segPath(n));
  segments_.push_back(Segment{n, 0, 0});
  return true;
}

bool FlashRing::dropOldestSegment(std::string* err) {
  uint32_t victim = segments_.front().number;
  while (!queue_.empty() && queue_.front().segment == victim) {
    consumed_ = std::max(consumed_, queue_.front().id);
    queue_.pop_front();
    ++dropped_;
  }
  // The metadata goes first: a reboot between the two steps must not bring the
  // dropped records back as pending.
  if (!writeMeta()) return setErr(err, "buffer metadata write failed");
  std::remove(segPath(victim).c_str());
  segments_.pop_front();
  return true;
}

bool FlashRing::writeMeta() {
  uint8_t b[kMetaSize] = {};
  ++metaGen_;
  put32(b, kMetaMagic);
  put32(b + 4, metaGen_);
  put64(b + 8, consumed_);
  put64(b + 16, dropped_);
  put32(b + 28, crc32(b, 28));
  std::string path = dir_ + "/meta.bin";
  FILE* f = std::fopen(path.c_str(), "r+b");
  if (!f) f = std::fopen(path.c_str(), "w+b");
  if (!f) return false;
  // Alternate A/B: a torn write leaves the other slot (previous state) intact.
  std::fseek(f, static_cast<long>((metaGen_ % 2) * kMetaSize), SEEK_SET);
  bool ok = std::fwrite(b, 1, kMetaSize, f) == kMetaSize && syncFile(f);
  return (std::fclose(f) == 0) && ok;
}

bool FlashRing::push(const std::string& payload, std::string* err) {
  if (!open_) return setErr(err, "buffer not open");
  if (payload.size() > maxPayload())
    return setErr(err, "record of " + std::to_string(payload.size()) + " bytes exceeds the segment payload limit " +
                           std::to_string(maxPayload()));
  uint32_t size = static_cast<uint32_t>(kRecordHeader + payload.size());
  // No file to append to when a segment could not be created (file system
  // full, I/O error) or a failed write closed the current one: start a segment
  // now or refuse this push (the next smaller record used to be written to a
  // null FILE*). current_, when set, is segments_.back().
  if (!current_ || segments_.back().bytes + size > segmentBytes_) {
    if (!startSegment(err)) return false;
  }
  while (segments_.size() > maxSegments_)
    if (!dropOldestSegment(err)) return false;
  std::vector<uint8_t> rec(size);
  uint64_t id = nextId_;
  put32(rec.data(), kRecordMagic);
  put64(rec.data() + 4, id);
  put32(rec.data() + 12, static_cast<uint32_t>(payload.size()));
  std::memcpy(rec.data() + kRecordHeader, payload.data(), payload.size());
  uint32_t crc = crc32(rec.data() + 4, 12);
  crc = crc32(rec.data() + kRecordHeader, payload.size(), crc);
  put32(rec.data() + 16, crc);
  Segment& seg = segments_.back();
  // The id is spent whatever happens below: a record of a failed push may be on
  // the medium, and no later record may share its id (a reboot would then count
  // one of the two as delivered with the other).
  nextId_ = id + 1;
  if (std::fwrite(rec.data(), 1, size, current_) != size || !syncFile(current_)) {
    // The caller keeps what it could not store (a meter carries the energy into
    // its next reading), so the record must not reappear at the next reboot:
    // the file is closed (flushing what stdio still holds) and cut back to its
    // last good record. If even that fails, the record may survive; its id is
    // unique, so nothing is lost, and the oracle counts it as one more reading.
    std::fclose(current_);
    current_ = nullptr;
    std::string path = segPath(seg.number);
    if (truncate(path.c_str(), static_cast<off_t>(seg.bytes)) == 0) {
      int fd = ::open(path.c_str(), O_RDONLY);
      if (fd >= 0) {
        fsync(fd);
        ::close(fd);
      }
      // Cut back to its last good record: the same segment takes the next push
      // (if it cannot be opened, the next push starts one). A fresh segment at
      // each failure (found in review) counted empty segments against
      // maxSegments, and a run of failed writes then deleted pending readings
      // from a buffer far from full.
      current_ = std::fopen(path.c_str(), "ab");
    } else {
      startSegment(nullptr);  // records may follow garbage there: a fresh segment (else the next push tries)
    }
    return setErr(err, "buffer write failed");
  }
  queue_.push_back(Entry{id, seg.number, seg.bytes, static_cast<uint32_t>(payload.size())});
  seg.bytes += size;
  seg.validEnd = seg.bytes;
  return true;
}

bool FlashRing::peek(std::string& payload) {
  while (!queue_.empty()) {
    const Entry e = queue_.front();
    FILE* f = std::fopen(segPath(e.segment).c_str(), "rb");
    std::vector<uint8_t> b(kRecordHeader + e.len);
    bool ok = f && std::fseek(f, static_cast<long>(e.offset), SEEK_SET) == 0 &&
              std::fread(b.data(), 1, b.size(), f) == b.size();
    if (f) std::fclose(f);
    uint64_t id;
    uint32_t len;
    if (ok && recordAt(b, 0, segmentBytes_, id, len) && id == e.id) {
      payload.assign(reinterpret_cast<const char*>(b.data() + kRecordHeader), len);
      return true;
    }
    ++corrupt_;  // went bad since it was written (flash bit rot): skip it
    pop();
  }
  return false;
}

bool FlashRing::pop() {
  if (queue_.empty()) return false;
  consumed_ = std::max(consumed_, queue_.front().id);
  queue_.pop_front();
  bool ok = writeMeta();
  deleteDeliveredSegments();
  return ok;
}

void FlashRing::deleteDeliveredSegments() {
  // Segments wholly older than the oldest pending record; never the newest
  // (it is the one appended to).
  while (segments_.size() > 1) {
    uint32_t front = segments_.front().number;
    if (!queue_.empty() && front >= queue_.front().segment) break;
    std::remove(segPath(front).c_str());
    segments_.pop_front();
  }
}

}  // namespace cp
