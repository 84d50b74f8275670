#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>

#include "carbonproof/flash_ring.h"
#include "posix.h"
#include "test_support.h"

using namespace cp;

namespace {
constexpr uint32_t kSlots = 8, kSlotSize = 128;
std::string rec(int i) { return "{\"record\":" + std::to_string(i) + "}"; }
std::vector<std::string> drain(FlashRing& r) {
  std::vector<std::string> out;
  std::string p;
  while (r.peek(p)) {
    out.push_back(p);
    r.pop();
  }
  return out;
}
}  // namespace

TEST_CASE("ring buffer drains oldest-first and survives reopen") {
  std::string path = cptest::tempDir() + "/ring.bin";
  {
    FlashRing r;
    REQUIRE(r.open(path, kSlots, kSlotSize));
    for (int i = 0; i < 5; ++i) REQUIRE(r.push(rec(i)));
    std::string p;
    REQUIRE(r.peek(p));
    CHECK(p == rec(0));
    REQUIRE(r.pop());
  }
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  CHECK(r.depth() == 4);
  CHECK(drain(r) == std::vector<std::string>{rec(1), rec(2), rec(3), rec(4)});
  CHECK(r.depth() == 0);
}

TEST_CASE("ring buffer when full keeps the newest and counts dropped - persistently") {
  std::string path = cptest::tempDir() + "/ring.bin";
  {
    FlashRing r;
    REQUIRE(r.open(path, kSlots, kSlotSize));
    for (int i = 0; i < 20; ++i) REQUIRE(r.push(rec(i)));
    CHECK(r.depth() == kSlots);
    CHECK(r.dropped() == 12);
  }
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  CHECK(r.dropped() == 12);
  auto got = drain(r);
  REQUIRE(got.size() == kSlots);
  for (uint32_t i = 0; i < kSlots; ++i) CHECK(got[i] == rec(12 + static_cast<int>(i)));
  // Wraps around cleanly after draining.
  for (int i = 100; i < 103; ++i) REQUIRE(r.push(rec(i)));
  CHECK(drain(r) == std::vector<std::string>{rec(100), rec(101), rec(102)});
}

TEST_CASE("ring buffer survives power loss mid-record (file truncated inside a record)") {
  std::string path = cptest::tempDir() + "/ring.bin";
  {
    FlashRing r;
    REQUIRE(r.open(path, kSlots, kSlotSize));
    for (int i = 0; i < 4; ++i) REQUIRE(r.push(rec(i)));
  }
  // Cut the file in the middle of record 3 (slot index 3): header written, payload not.
  long cut = 2 * 40 + 3 * kSlotSize + 10;
  REQUIRE(truncate(path.c_str(), cut) == 0);
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  CHECK(r.corrupt() == 1);
  CHECK(drain(r) == std::vector<std::string>{rec(0), rec(1), rec(2)});
  CHECK(cptest::fileSize(path) == static_cast<long>(2 * 40 + kSlots * kSlotSize));  // repaired
  REQUIRE(r.push(rec(9)));
  CHECK(drain(r) == std::vector<std::string>{rec(9)});
}

TEST_CASE("ring buffer skips a corrupted record and keeps the others") {
  std::string path = cptest::tempDir() + "/ring.bin";
  {
    FlashRing r;
    REQUIRE(r.open(path, kSlots, kSlotSize));
    for (int i = 0; i < 5; ++i) REQUIRE(r.push(rec(i)));
  }
  std::string data;
  REQUIRE(host::readFile(path, data));
  data[2 * 40 + 2 * kSlotSize + FlashRing::kRecordHeader + 3] ^= 0x55;  // flip a payload byte of record 2
  REQUIRE(host::writeFile(path, data));
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  CHECK(r.corrupt() == 1);
  CHECK(drain(r) == std::vector<std::string>{rec(0), rec(1), rec(3), rec(4)});
}

TEST_CASE("ring buffer with both metadata slots destroyed resends rather than loses") {
  std::string path = cptest::tempDir() + "/ring.bin";
  {
    FlashRing r;
    REQUIRE(r.open(path, kSlots, kSlotSize));
    for (int i = 0; i < 4; ++i) REQUIRE(r.push(rec(i)));
    std::string p;
    REQUIRE(r.peek(p));
    REQUIRE(r.pop());
  }
  std::string data;
  REQUIRE(host::readFile(path, data));
  for (int i = 0; i < 80; ++i) data[i] = 0;
  REQUIRE(host::writeFile(path, data));
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  // Consumed marker lost: record 0 comes back (the oracle ignores the duplicate seq).
  CHECK(drain(r) == std::vector<std::string>{rec(0), rec(1), rec(2), rec(3)});
}

TEST_CASE("ring buffer rejects oversize records and a file with another geometry") {
  std::string path = cptest::tempDir() + "/ring.bin";
  FlashRing r;
  REQUIRE(r.open(path, kSlots, kSlotSize));
  std::string err;
  CHECK_FALSE(r.push(std::string(kSlotSize, 'x'), &err));
  CHECK(err.find("exceeds") != std::string::npos);
  REQUIRE(r.push("a"));
  r.pop();  // writes metadata with the geometry
  r.close();
  FlashRing other;
  CHECK_FALSE(other.open(path, kSlots * 2, kSlotSize, &err));
  CHECK(err.find("geometry") != std::string::npos);
}
