#include <doctest/doctest.h>

#include <cstdio>

#include "carbonproof/seq_store.h"
#include "posix.h"
#include "test_support.h"

using namespace cp;

TEST_CASE("seq starts at 0 on a fresh device and increases") {
  std::string dir = cptest::tempDir();
  FileSeqBackend b(dir + "/seq.bin");
  ReservingSeqStore s(b, 4);
  REQUIRE(s.begin());
  for (int64_t i = 0; i < 10; ++i) {
    int64_t q;
    REQUIRE(s.next(q));
    CHECK(q == i);
  }
}

TEST_CASE("seq never repeats across reboots - even after a crash mid-block") {
  std::string dir = cptest::tempDir();
  int64_t lastSeen = -1;
  for (int boot = 0; boot < 5; ++boot) {
    FileSeqBackend b(dir + "/seq.bin");
    ReservingSeqStore s(b, 8);
    REQUIRE(s.begin());
    for (int i = 0; i < 3 + boot; ++i) {  // "crash" after a few readings, mid-block
      int64_t q;
      REQUIRE(s.next(q));
      CHECK(q > lastSeen);
      lastSeen = q;
    }
  }
}

TEST_CASE("seq mark is written before the seq is handed out (write-ahead)") {
  struct Recording : SeqBackend {
    int64_t stored = -1;
    bool failStore = false;
    bool load(bool& found, int64_t& mark) override {
      found = stored >= 0;
      mark = stored;
      return true;
    }
    bool store(int64_t m) override {
      if (failStore) return false;
      stored = m;
      return true;
    }
  } b;
  ReservingSeqStore s(b, 1);
  REQUIRE(s.begin());
  int64_t q;
  REQUIRE(s.next(q));
  CHECK(q == 0);
  CHECK(b.stored == 1);  // durable mark already covers seq 0
  b.failStore = true;
  CHECK_FALSE(s.next(q));  // cannot persist → no seq
}

TEST_CASE("corrupt seq file refuses to issue seqs") {
  std::string dir = cptest::tempDir();
  {
    FileSeqBackend b(dir + "/seq.bin");
    ReservingSeqStore s(b);
    REQUIRE(s.begin());
    int64_t q;
    REQUIRE(s.next(q));
  }
  std::string data;
  REQUIRE(host::readFile(dir + "/seq.bin", data));
  data[7] ^= 0x40;
  REQUIRE(host::writeFile(dir + "/seq.bin", data));
  FileSeqBackend b(dir + "/seq.bin");
  ReservingSeqStore s(b);
  std::string err;
  CHECK_FALSE(s.begin(&err));
  int64_t q;
  CHECK_FALSE(s.next(q));
}
