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

TEST_CASE("mirrored seq mark: a wiped copy restarts nothing - the larger mark wins and both are rewritten") {
  // Found in review: the Arduino core erases NVS when nvs_flash_init reports no
  // free pages or a new version; the seq mark in NVS alone then read as a fresh
  // device, seqs restarted at 0 and the oracle rejected every one as a replay.
  std::string dir = cptest::tempDir();
  const std::string nvs = dir + "/nvs.bin", fs = dir + "/fs.bin";
  int64_t lastSeen = -1;
  auto boot = [&](int readings, bool expectPrimaryLost, bool expectMirrorLost) {
    FileSeqBackend primary(nvs), mirror(fs, false);
    MirroredSeqBackend both(primary, mirror);
    ReservingSeqStore s(both, 8);
    REQUIRE(s.begin());
    CHECK(both.primaryLost() == expectPrimaryLost);
    CHECK(both.mirrorLost() == expectMirrorLost);
    for (int i = 0; i < readings; ++i) {
      int64_t q;
      REQUIRE(s.next(q));
      CHECK(q > lastSeen);
      lastSeen = q;
    }
  };
  boot(3, false, false);  // fresh device: seqs 0, 1, 2
  CHECK(lastSeen == 2);
  REQUIRE(std::remove(nvs.c_str()) == 0);  // NVS erased by the core
  boot(3, true, false);
  CHECK(lastSeen > 2);
  REQUIRE(std::remove(fs.c_str()) == 0);  // LittleFS rewritten by uploadfs
  boot(3, false, true);
  boot(1, false, false);  // both copies were rewritten
  // the larger mark wins whichever copy holds it
  {
    FileSeqBackend primary(nvs);
    REQUIRE(primary.store(1000));
  }
  boot(1, false, false);
  CHECK(lastSeen == 1000);
  {
    FileSeqBackend mirror(fs, false);
    REQUIRE(mirror.store(2000));
  }
  boot(1, false, false);
  CHECK(lastSeen == 2000);
}

TEST_CASE("mirrored seq mark: an unreadable copy fails the load only when no copy holds a mark") {
  struct Fixed : SeqBackend {
    bool ok = true, found = false;
    int64_t mark = 0;
    bool load(bool& f, int64_t& m) override {
      f = found;
      m = mark;
      return ok;
    }
    bool store(int64_t m) override {
      mark = m;
      found = true;
      return ok;
    }
  };
  Fixed p, m;
  bool found = false;
  int64_t mark = -1;
  p.ok = false;  // NVS unreadable, LittleFS copy absent: may be the only mark
  CHECK_FALSE(MirroredSeqBackend(p, m).load(found, mark));
  m.found = true;
  m.mark = 64;  // the LittleFS copy covers every seq handed out
  REQUIRE(MirroredSeqBackend(p, m).load(found, mark));
  CHECK(found);
  CHECK(mark == 64);
  p.ok = true;
  p.found = false;
  m.ok = false;  // a corrupt LittleFS copy and no NVS mark: refused
  CHECK_FALSE(MirroredSeqBackend(p, m).load(found, mark));
  p.found = true;
  p.mark = 128;
  REQUIRE(MirroredSeqBackend(p, m).load(found, mark));
  CHECK(mark == 128);
  // a store counts only when both copies took it
  CHECK_FALSE(MirroredSeqBackend(p, m).store(192));
  m.ok = true;
  CHECK(MirroredSeqBackend(p, m).store(192));
  CHECK(p.mark == 192);
  CHECK(m.mark == 192);
}
