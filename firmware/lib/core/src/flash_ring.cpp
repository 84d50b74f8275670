#include "carbonproof/flash_ring.h"

#include <algorithm>
#include <cstring>
#include <unistd.h>
#include <vector>

#include "carbonproof/bytes.h"

namespace cp {
namespace {

constexpr uint32_t kMetaMagic = 0x4350524d;    // "CPRM"
constexpr uint32_t kRecordMagic = 0x43505253;  // "CPRS"
constexpr size_t kMetaSize = 40;               // magic gen slots slotSize consumed dropped crc (+pad)

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

bool setErr(std::string* err, const char* m) {
  if (err) *err = m;
  return false;
}

bool syncFile(FILE* f) { return std::fflush(f) == 0 && fsync(fileno(f)) == 0; }

}  // namespace

FlashRing::~FlashRing() { close(); }

void FlashRing::close() {
  if (f_) std::fclose(f_);
  f_ = nullptr;
  queue_.clear();
}

long FlashRing::slotOffset(uint32_t slot) const { return static_cast<long>(2 * kMetaSize + uint64_t{slot} * slotSize_); }

bool FlashRing::open(const std::string& path, uint32_t slots, uint32_t slotSize, std::string* err) {
  close();
  auto fail = [&](const std::string& m) {
    if (err) *err = m + " (" + path + ")";
    close();
    return false;
  };
  if (slots < 2 || slotSize <= kRecordHeader) return fail("ring needs >= 2 slots larger than the record header");
  slots_ = slots;
  slotSize_ = slotSize;
  consumed_ = 0;
  nextId_ = 1;
  dropped_ = corrupt_ = 0;
  metaGen_ = 0;
  f_ = std::fopen(path.c_str(), "r+b");
  if (!f_) f_ = std::fopen(path.c_str(), "w+b");
  if (!f_) return fail("cannot open ring buffer file");

  // Extend a new or truncated file to full size; missing bytes read as empty slots.
  long total = slotOffset(slots_);
  std::fseek(f_, 0, SEEK_END);
  long size = std::ftell(f_);
  if (size < total) {
    std::vector<uint8_t> zeros(static_cast<size_t>(total - size), 0);
    if (std::fwrite(zeros.data(), 1, zeros.size(), f_) != zeros.size() || !syncFile(f_))
      return fail("cannot size ring buffer file");
  }

  // Metadata: newest valid generation of the two slots.
  bool haveMeta = false;
  for (int m = 0; m < 2; ++m) {
    uint8_t b[kMetaSize];
    std::fseek(f_, static_cast<long>(m * kMetaSize), SEEK_SET);
    if (std::fread(b, 1, kMetaSize, f_) != kMetaSize) continue;
    if (get32(b) != kMetaMagic || get32(b + 36) != crc32(b, 36)) continue;
    if (get32(b + 8) != slots_ || get32(b + 12) != slotSize_)
      return fail("ring buffer file has another geometry; move it away or configure the same slots/slotSize");
    uint32_t gen = get32(b + 4);
    if (!haveMeta || gen > metaGen_) {
      haveMeta = true;
      metaGen_ = gen;
      consumed_ = get64(b + 16);
      dropped_ = get64(b + 24);
    }
  }

  std::vector<uint64_t> pending;
  uint64_t maxId = consumed_;
  for (uint32_t s = 0; s < slots_; ++s) {
    uint64_t id = 0;
    bool looksUsed = false;
    if (readSlot(s, id, nullptr)) {
      maxId = std::max(maxId, id);
      if (id > consumed_ && (id - 1) % slots_ == s) pending.push_back(id);
    } else {
      // A slot with our magic but a bad CRC is a torn or corrupted record.
      uint8_t hdr[4];
      std::fseek(f_, slotOffset(s), SEEK_SET);
      looksUsed = std::fread(hdr, 1, 4, f_) == 4 && get32(hdr) == kRecordMagic;
      if (looksUsed) ++corrupt_;
    }
  }
  std::sort(pending.begin(), pending.end());
  // Ids older than one lap behind the newest cannot be pending.
  for (uint64_t id : pending)
    if (id + slots_ > maxId) queue_.push_back(id);
  nextId_ = maxId + 1;
  return true;
}

bool FlashRing::readSlot(uint32_t slot, uint64_t& id, std::string* payload) {
  std::vector<uint8_t> b(slotSize_);
  std::fseek(f_, slotOffset(slot), SEEK_SET);
  if (std::fread(b.data(), 1, slotSize_, f_) != slotSize_) return false;
  if (get32(b.data()) != kRecordMagic) return false;
  id = get64(b.data() + 4);
  uint32_t len = get32(b.data() + 12);
  if (len > slotSize_ - kRecordHeader || id == 0) return false;
  uint32_t crc = crc32(b.data() + 4, 12);
  crc = crc32(b.data() + kRecordHeader, len, crc);
  if (crc != get32(b.data() + 16)) return false;
  if (payload) payload->assign(reinterpret_cast<const char*>(b.data() + kRecordHeader), len);
  return true;
}

bool FlashRing::writeMeta() {
  uint8_t b[kMetaSize] = {};
  ++metaGen_;
  put32(b, kMetaMagic);
  put32(b + 4, metaGen_);
  put32(b + 8, slots_);
  put32(b + 12, slotSize_);
  put64(b + 16, consumed_);
  put64(b + 24, dropped_);
  put32(b + 36, crc32(b, 36));
  std::fseek(f_, static_cast<long>((metaGen_ % 2) * kMetaSize), SEEK_SET);  // alternate A/B
  return std::fwrite(b, 1, kMetaSize, f_) == kMetaSize && syncFile(f_);
}

bool FlashRing::push(const std::string& payload, std::string* err) {
  if (!f_) return setErr(err, "ring buffer not open");
  if (payload.size() > maxPayload()) {
    if (err) *err = "record of " + std::to_string(payload.size()) + " bytes exceeds slot payload " +
                    std::to_string(maxPayload());
    return false;
  }
  uint64_t id = nextId_;
  uint32_t slot = static_cast<uint32_t>((id - 1) % slots_);
  if (!queue_.empty() && queue_.front() + slots_ <= id) {
    // Full: the slot still holds the oldest pending record. Drop it first and
    // make that durable so a reboot never resurrects it as pending.
    consumed_ = std::max(consumed_, queue_.front());
    queue_.pop_front();
    ++dropped_;
    if (!writeMeta()) return setErr(err, "ring metadata write failed");
  }
  std::vector<uint8_t> b(slotSize_, 0);
  put32(b.data(), kRecordMagic);
  put64(b.data() + 4, id);
  put32(b.data() + 12, static_cast<uint32_t>(payload.size()));
  std::memcpy(b.data() + kRecordHeader, payload.data(), payload.size());
  uint32_t crc = crc32(b.data() + 4, 12);
  crc = crc32(b.data() + kRecordHeader, payload.size(), crc);
  put32(b.data() + 16, crc);
  std::fseek(f_, slotOffset(slot), SEEK_SET);
  if (std::fwrite(b.data(), 1, slotSize_, f_) != slotSize_ || !syncFile(f_))
    return setErr(err, "ring record write failed");
  queue_.push_back(id);
  nextId_ = id + 1;
  return true;
}

bool FlashRing::peek(std::string& payload) {
  while (!queue_.empty()) {
    uint64_t id = 0;
    uint32_t slot = static_cast<uint32_t>((queue_.front() - 1) % slots_);
    if (readSlot(slot, id, &payload) && id == queue_.front()) return true;
    ++corrupt_;  // went bad since open (flash bit rot): skip it
    consumed_ = std::max(consumed_, queue_.front());
    queue_.pop_front();
    writeMeta();
  }
  return false;
}

bool FlashRing::pop() {
  if (queue_.empty()) return false;
  consumed_ = std::max(consumed_, queue_.front());
  queue_.pop_front();
  return writeMeta();
}

}  // namespace cp
