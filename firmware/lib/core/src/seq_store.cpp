#include "carbonproof/seq_store.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <string>
#include <fcntl.h>
#include <unistd.h>

#include "carbonproof/bytes.h"

namespace cp {

bool ReservingSeqStore::begin(std::string* err) {
  bool found = false;
  int64_t mark = 0;
  if (!backend_.load(found, mark)) {
    if (err) *err = "sequence mark unreadable or corrupt; refusing to issue seqs (would risk reuse)";
    return false;
  }
  next_ = mark_ = found ? mark : 0;
  ready_ = true;
  return true;
}

bool ReservingSeqStore::next(int64_t& seq) {
  if (!ready_) return false;
  if (next_ >= mark_) {
    int64_t newMark = next_ + block_;
    if (!backend_.store(newMark)) return false;
    mark_ = newMark;
  }
  seq = next_++;
  last_ = seq;
  return true;
}

namespace {
void encode(int64_t v, uint8_t out[12]) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(static_cast<uint64_t>(v) >> (56 - 8 * i));
  uint32_t c = crc32(out, 8);
  for (int i = 0; i < 4; ++i) out[8 + i] = static_cast<uint8_t>(c >> (24 - 8 * i));
}
}  // namespace

bool FileSeqBackend::load(bool& found, int64_t& mark) {
  FILE* f = std::fopen(path_.c_str(), "rb");
  if (!f) {
    if (errno == ENOENT) {
      found = false;
      return true;
    }
    return false;
  }
  uint8_t b[12];
  size_t n = std::fread(b, 1, sizeof b, f);
  std::fclose(f);
  if (n != sizeof b) return false;
  uint8_t check[12];
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | b[i];
  encode(static_cast<int64_t>(v), check);
  for (int i = 8; i < 12; ++i)
    if (check[i] != b[i]) return false;
  found = true;
  mark = static_cast<int64_t>(v);
  return true;
}

bool FileSeqBackend::store(int64_t mark) {
  std::string tmp = path_ + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) return false;
  uint8_t b[12];
  encode(mark, b);
  bool ok = std::fwrite(b, 1, sizeof b, f) == sizeof b && std::fflush(f) == 0 && fsync(fileno(f)) == 0;
  ok = (std::fclose(f) == 0) && ok;
  if (!ok) return false;
  if (std::rename(tmp.c_str(), path_.c_str()) != 0) return false;
  if (!syncDir_) return true;
  // The rename is durable once the directory is synced: a power cut before that
  // could bring back the previous mark (or none), and seqs would be reused.
  std::string dir = path_.substr(0, path_.find_last_of('/') == std::string::npos ? 0 : path_.find_last_of('/'));
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY);
  if (fd < 0) return false;
  ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

bool MirroredSeqBackend::load(bool& found, int64_t& mark) {
  bool pFound = false, mFound = false;
  int64_t pMark = 0, mMark = 0;
  bool pOk = primary_.load(pFound, pMark);
  bool mOk = mirror_.load(mFound, mMark);
  pFound = pOk && pFound;
  mFound = mOk && mFound;
  if ((!pOk || !mOk) && !pFound && !mFound) return false;  // an unreadable copy may hold the only mark
  primaryLost_ = !pFound && mFound;
  mirrorLost_ = !mFound && pFound;
  found = pFound || mFound;
  mark = pFound && mFound ? std::max(pMark, mMark) : (pFound ? pMark : mMark);
  return true;
}

bool MirroredSeqBackend::store(int64_t mark) {
  bool p = primary_.store(mark);
  bool m = mirror_.store(mark);  // both tried: a lost copy is restored at the next block
  return p && m;
}

}  // namespace cp
