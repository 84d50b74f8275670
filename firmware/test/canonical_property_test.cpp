// Property test across languages: random integer-only JSON documents (random
// key order, whitespace, \u escapes, astral characters, control characters,
// keys that sort differently by UTF-16 than by code point) canonicalised by
// the firmware and by the sdk's canonicalJson (npm `canonicalize`) must give
// identical bytes.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdlib>
#include <random>
#include <sstream>

#include "carbonproof/json.h"
#include "posix.h"
#include "test_support.h"

namespace {

const std::string kRepo = CP_REPO_ROOT;

// Code points chosen for their escaping and UTF-16 ordering behaviour.
const uint32_t kChars[] = {'a',    'b',    'Z',    '0',    '9',    ' ',    '"',     '\\',    '/',    0x01,
                           0x08,   0x0A,   0x1F,   0x7F,   0xE9,   0x80,   0x20AC,  0x2028,  0xFB33, 0xFFFD,
                           0xFFFF, 0x10000, 0x1F600, 0x10FFFF};

void utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += static_cast<char>(cp);
  else if (cp < 0x800) { out += static_cast<char>(0xC0 | cp >> 6); out += static_cast<char>(0x80 | (cp & 0x3F)); }
  else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | cp >> 12);
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | cp >> 18);
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

struct Gen {
  std::mt19937_64 rng;
  explicit Gen(uint64_t seed) : rng(seed) {}
  uint64_t pick(uint64_t n) { return rng() % n; }

  void ws(std::string& o) {
    static const char* w[] = {"", "", " ", "\n", "\t", "  \r\n"};
    o += w[pick(6)];
  }
  void str(std::string& o, size_t maxLen) {
    o += '"';
    size_t len = pick(maxLen + 1);
    for (size_t i = 0; i < len; ++i) {
      uint32_t cp = kChars[pick(sizeof kChars / sizeof kChars[0])];
      char hex[16];
      if (cp == '"') o += "\\\"";
      else if (cp == '\\') o += "\\\\";
      else if (cp < 0x20) {
        std::snprintf(hex, sizeof hex, "\\u%04X", static_cast<unsigned>(cp));
        o += hex;
      } else if (pick(3) == 0) {  // escape it anyway
        if (cp >= 0x10000) {
          uint32_t v = cp - 0x10000;
          std::snprintf(hex, sizeof hex, "\\u%04x\\u%04x", static_cast<unsigned>(0xD800 + (v >> 10)),
                        static_cast<unsigned>(0xDC00 + (v & 0x3FF)));
        } else {
          std::snprintf(hex, sizeof hex, "\\u%04x", static_cast<unsigned>(cp));
        }
        o += hex;
      } else {
        utf8(o, cp);
      }
    }
    o += '"';
  }
  void value(std::string& o, int depth) {
    uint64_t k = pick(depth > 2 ? 4 : 6);
    ws(o);
    switch (k) {
      case 0: {
        int64_t bound = (int64_t{1} << 53) - 1;
        int64_t v;
        switch (pick(3)) {
          case 0: v = static_cast<int64_t>(pick(10)); break;
          case 1: v = static_cast<int64_t>(pick(2000000)) - 1000000; break;
          default: v = static_cast<int64_t>(rng() % static_cast<uint64_t>(bound)) * (pick(2) ? 1 : -1);
        }
        o += std::to_string(v);
        if (pick(6) == 0) o += pick(2) ? ".0" : "e0";  // integral value in float notation
        break;
      }
      case 1: str(o, 6); break;
      case 2: o += pick(2) ? "true" : "false"; break;
      case 3: o += "null"; break;
      case 4: {
        o += '[';
        size_t n = pick(4);
        for (size_t i = 0; i < n; ++i) {
          if (i) o += ',';
          value(o, depth + 1);
        }
        ws(o);
        o += ']';
        break;
      }
      default: object(o, depth); break;
    }
    ws(o);
  }
  void object(std::string& o, int depth) {
    o += '{';
    size_t n = pick(6);
    std::vector<std::string> keys;
    for (size_t i = 0; i < n; ++i) {
      std::string k;
      str(k, 3);
      cp::json::Value probe;
      if (!cp::json::parse(k, probe)) continue;
      bool dup = false;
      for (auto& e : keys) {
        cp::json::Value a;
        cp::json::parse(e, a);
        dup = dup || a.s == probe.s;
      }
      if (dup || probe.s == "__proto__") continue;
      keys.push_back(k);
    }
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i) o += ',';
      ws(o);
      o += keys[i];
      ws(o);
      o += ':';
      value(o, depth + 1);
    }
    ws(o);
    o += '}';
  }
};

}  // namespace

TEST_CASE("firmware and sdk canonicalise 300 random JSON documents to identical bytes") {
  std::string noble = kRepo + "/node_modules/canonicalize";
  std::string node = kRepo + "/node_modules/.bin/node";
  if (access(noble.c_str(), R_OK) != 0 || access(node.c_str(), X_OK) != 0) {
    cptest::skip("repo node_modules not installed (npm ci): cross-language property test skipped");
    return;
  }
  Gen g(0xC0FFEE);
  std::string inputs, mine;
  for (int i = 0; i < 300; ++i) {
    std::string doc;
    g.object(doc, 0);
    // One document per line for the node side: re-encode without raw newlines
    // (JSON whitespace only; strings never hold a raw newline).
    for (char& c : doc)
      if (c == '\n' || c == '\r') c = ' ';
    cp::json::Value v;
    std::string err, canon;
    REQUIRE_MESSAGE(cp::json::parse(doc, v, &err), (err + " in " + doc));
    REQUIRE_MESSAGE(cp::json::canonicalize(v, canon, &err), err);
    std::string again;
    cp::json::Value v2;
    REQUIRE(cp::json::parse(canon, v2));
    REQUIRE(cp::json::canonicalize(v2, again));
    CHECK(again == canon);  // idempotent
    inputs += doc + "\n";
    mine += canon + "\n";
  }
  std::string dir = cptest::tempDir();
  REQUIRE(cp::host::writeFile(dir + "/in.jsonl", inputs));
  std::string script =
      "const sdk = await import(process.argv[2]);\n"
      "const fs = await import('node:fs');\n"
      "const out = fs.readFileSync(process.argv[3], 'utf8').split('\\n').filter((l) => l.length)\n"
      "  .map((l) => sdk.canonicalJson(JSON.parse(l)));\n"
      "fs.writeFileSync(process.argv[4], out.join('\\n') + '\\n');\n";
  REQUIRE(cp::host::writeFile(dir + "/c.mjs", script));
  std::string cmd = node + " " + dir + "/c.mjs " + kRepo + "/sdk/src/index.ts " + dir + "/in.jsonl " + dir + "/out.jsonl";
  REQUIRE(std::system(cmd.c_str()) == 0);
  std::string theirs;
  REQUIRE(cp::host::readFile(dir + "/out.jsonl", theirs));
  std::istringstream a(mine), b(theirs);
  std::string la, lb;
  int line = 0, diffs = 0;
  while (std::getline(a, la)) {
    std::getline(b, lb);
    ++line;
    if (la != lb && ++diffs <= 3) CHECK_MESSAGE(la == lb, "document " << line);
  }
  CHECK(diffs == 0);
  CHECK(line == 300);
}
