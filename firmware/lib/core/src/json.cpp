#include "carbonproof/json.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace cp::json {
namespace {

constexpr int64_t kMaxSafe = (int64_t{1} << 53) - 1;

void setErr(std::string* err, const std::string& msg) {
  if (err) *err = msg;
}

// Decodes UTF-8 into code points; false on invalid sequences (overlong,
// surrogates, > U+10FFFF, truncated).
bool decodeUtf8(const std::string& s, std::vector<uint32_t>& cps) {
  size_t i = 0;
  while (i < s.size()) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    uint32_t cp;
    int n;
    if (c < 0x80) { cp = c; n = 0; }
    else if ((c & 0xE0) == 0xC0) { cp = c & 0x1F; n = 1; }
    else if ((c & 0xF0) == 0xE0) { cp = c & 0x0F; n = 2; }
    else if ((c & 0xF8) == 0xF0) { cp = c & 0x07; n = 3; }
    else return false;
    if (n > 0 && i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      uint8_t cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)) return false;
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    cps.push_back(cp);
    i += n + 1;
  }
  return true;
}

void toUtf16(const std::string& s, std::vector<uint16_t>& out) {
  std::vector<uint32_t> cps;
  if (!decodeUtf8(s, cps)) {  // invalid UTF-8 is rejected elsewhere; compare bytes
    for (unsigned char c : s) out.push_back(c);
    return;
  }
  for (uint32_t cp : cps) {
    if (cp >= 0x10000) {
      cp -= 0x10000;
      out.push_back(static_cast<uint16_t>(0xD800 + (cp >> 10)));
      out.push_back(static_cast<uint16_t>(0xDC00 + (cp & 0x3FF)));
    } else {
      out.push_back(static_cast<uint16_t>(cp));
    }
  }
}

void appendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) out += static_cast<char>(cp);
  else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

class Parser {
 public:
  Parser(const std::string& t, std::string* err) : t_(t), err_(err) {}

  bool run(Value& out) {
    ws();
    if (!value(out, 0)) return false;
    ws();
    if (p_ != t_.size()) return fail("trailing characters after JSON value");
    return true;
  }

 private:
  const std::string& t_;
  std::string* err_;
  size_t p_ = 0;

  bool fail(const std::string& m) {
    setErr(err_, m + " at offset " + std::to_string(p_));
    return false;
  }
  void ws() {
    while (p_ < t_.size() && (t_[p_] == ' ' || t_[p_] == '\t' || t_[p_] == '\n' || t_[p_] == '\r')) ++p_;
  }
  bool lit(const char* w) {
    size_t n = std::strlen(w);
    if (t_.compare(p_, n, w) != 0) return false;
    p_ += n;
    return true;
  }
  bool value(Value& v, int depth) {
    if (depth > 64) return fail("nesting too deep");
    if (p_ >= t_.size()) return fail("unexpected end");
    char c = t_[p_];
    if (c == '{') return object(v, depth);
    if (c == '[') return array(v, depth);
    if (c == '"') { v.type = Value::Type::String; return str(v.s); }
    if (c == 't') { if (!lit("true")) return fail("bad literal"); v = Value::boolean(true); return true; }
    if (c == 'f') { if (!lit("false")) return fail("bad literal"); v = Value::boolean(false); return true; }
    if (c == 'n') { if (!lit("null")) return fail("bad literal"); v = Value::null(); return true; }
    return number(v);
  }
  bool object(Value& v, int depth) {
    v = Value::object();
    ++p_;
    ws();
    if (p_ < t_.size() && t_[p_] == '}') { ++p_; return true; }
    for (;;) {
      ws();
      if (p_ >= t_.size() || t_[p_] != '"') return fail("expected object key");
      std::string k;
      if (!str(k)) return false;
      if (v.find(k)) return fail("duplicate key \"" + k + "\"");
      ws();
      if (p_ >= t_.size() || t_[p_] != ':') return fail("expected ':'");
      ++p_;
      ws();
      Value child;
      if (!value(child, depth + 1)) return false;
      v.members.push_back(Member{std::move(k), std::move(child)});
      ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == '}') { ++p_; return true; }
      return fail("expected ',' or '}'");
    }
  }
  bool array(Value& v, int depth) {
    v = Value::array();
    ++p_;
    ws();
    if (p_ < t_.size() && t_[p_] == ']') { ++p_; return true; }
    for (;;) {
      ws();
      Value child;
      if (!value(child, depth + 1)) return false;
      v.items.push_back(std::move(child));
      ws();
      if (p_ < t_.size() && t_[p_] == ',') { ++p_; continue; }
      if (p_ < t_.size() && t_[p_] == ']') { ++p_; return true; }
      return fail("expected ',' or ']'");
    }
  }
  bool hex4(uint32_t& u) {
    if (p_ + 4 > t_.size()) return fail("short \\u escape");
    u = 0;
    for (int k = 0; k < 4; ++k) {
      char c = t_[p_++];
      u <<= 4;
      if (c >= '0' && c <= '9') u |= c - '0';
      else if (c >= 'a' && c <= 'f') u |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') u |= c - 'A' + 10;
      else return fail("bad hex in \\u escape");
    }
    return true;
  }
  bool str(std::string& out) {
    ++p_;  // opening quote
    std::string raw;
    while (p_ < t_.size()) {
      char c = t_[p_++];
      if (c == '"') {
        std::vector<uint32_t> cps;
        if (!decodeUtf8(raw, cps)) return fail("invalid UTF-8 in string");
        out = std::move(raw);
        return true;
      }
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') { raw += c; continue; }
      if (p_ >= t_.size()) break;
      char e = t_[p_++];
      switch (e) {
        case '"': raw += '"'; break;
        case '\\': raw += '\\'; break;
        case '/': raw += '/'; break;
        case 'b': raw += '\b'; break;
        case 'f': raw += '\f'; break;
        case 'n': raw += '\n'; break;
        case 'r': raw += '\r'; break;
        case 't': raw += '\t'; break;
        case 'u': {
          uint32_t u = 0;
          if (!hex4(u)) return false;
          if (u >= 0xD800 && u <= 0xDBFF) {
            uint32_t lo = 0;
            if (p_ + 2 > t_.size() || t_[p_] != '\\' || t_[p_ + 1] != 'u') return fail("lone high surrogate");
            p_ += 2;
            if (!hex4(lo)) return false;
            if (lo < 0xDC00 || lo > 0xDFFF) return fail("bad low surrogate");
            u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
          } else if (u >= 0xDC00 && u <= 0xDFFF) {
            return fail("lone low surrogate");
          }
          appendUtf8(raw, u);
          break;
        }
        default: return fail("bad escape");
      }
    }
    return fail("unterminated string");
  }
  bool number(Value& v) {
    size_t start = p_;
    if (t_[p_] == '-') ++p_;
    if (p_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[p_]))) return fail("bad number");
    if (t_[p_] == '0') ++p_;
    else while (p_ < t_.size() && isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
    bool isFloat = false;
    if (p_ < t_.size() && t_[p_] == '.') {
      isFloat = true;
      ++p_;
      if (p_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[p_]))) return fail("bad fraction");
      while (p_ < t_.size() && isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
    }
    if (p_ < t_.size() && (t_[p_] == 'e' || t_[p_] == 'E')) {
      isFloat = true;
      ++p_;
      if (p_ < t_.size() && (t_[p_] == '+' || t_[p_] == '-')) ++p_;
      if (p_ >= t_.size() || !isdigit(static_cast<unsigned char>(t_[p_]))) return fail("bad exponent");
      while (p_ < t_.size() && isdigit(static_cast<unsigned char>(t_[p_]))) ++p_;
    }
    std::string tok = t_.substr(start, p_ - start);
    if (!isFloat) {
      errno = 0;
      char* end = nullptr;
      long long n = std::strtoll(tok.c_str(), &end, 10);
      if (errno == 0 && end && *end == '\0') {
        v = Value::integer(n);
        return true;
      }
    }
    double d = std::strtod(tok.c_str(), nullptr);
    // ECMAScript reads 1.0, 1e2 and -0.0 as the integers 1, 100 and 0; so must
    // we, or an integral number written with a fraction or exponent would
    // canonicalise differently from the sdk.
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) <= 9007199254740991.0) {
      v = Value::integer(static_cast<int64_t>(d));
      return true;
    }
    v.type = Value::Type::Float;
    v.f = d;
    return true;
  }
};

bool writeString(const std::string& s, std::string& out, std::string* err) {
  std::vector<uint32_t> cps;
  if (!decodeUtf8(s, cps)) {
    setErr(err, "string is not valid UTF-8");
    return false;
  }
  static const char* hex = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += hex[c >> 4];
          out += hex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
  return true;
}

bool writeCanonical(const Value& v, std::string& out, std::string* err) {
  switch (v.type) {
    case Value::Type::Null: out += "null"; return true;
    case Value::Type::Bool: out += v.b ? "true" : "false"; return true;
    case Value::Type::Int:
      if (v.i > kMaxSafe || v.i < -kMaxSafe) {
        setErr(err, "integer " + std::to_string(v.i) + " is outside the safe range |n| < 2^53");
        return false;
      }
      out += std::to_string(v.i);
      return true;
    case Value::Type::Float:
      setErr(err, "non-integer number: readings carry integers only");
      return false;
    case Value::Type::String: return writeString(v.s, out, err);
    case Value::Type::Array: {
      out += '[';
      for (size_t k = 0; k < v.items.size(); ++k) {
        if (k) out += ',';
        if (!writeCanonical(v.items[k], out, err)) return false;
      }
      out += ']';
      return true;
    }
    case Value::Type::Object: {
      std::vector<const Member*> sorted;
      for (const auto& m : v.members) sorted.push_back(&m);
      std::sort(sorted.begin(), sorted.end(),
                [](const Member* a, const Member* b) { return compareUtf16(a->key, b->key) < 0; });
      for (size_t k = 1; k < sorted.size(); ++k) {
        if (sorted[k - 1]->key == sorted[k]->key) {
          setErr(err, "duplicate key \"" + sorted[k]->key + "\"");
          return false;
        }
      }
      out += '{';
      for (size_t k = 0; k < sorted.size(); ++k) {
        if (k) out += ',';
        if (!writeString(sorted[k]->key, out, err)) return false;
        out += ':';
        if (!writeCanonical(sorted[k]->value, out, err)) return false;
      }
      out += '}';
      return true;
    }
  }
  return false;
}

}  // namespace

const Value* Value::find(const std::string& key) const {
  for (const auto& m : members)
    if (m.key == key) return &m.value;
  return nullptr;
}

Value& Value::set(const std::string& key, Value v) {
  for (auto& m : members) {
    if (m.key == key) {
      m.value = std::move(v);
      return m.value;
    }
  }
  members.push_back(Member{key, std::move(v)});
  return members.back().value;
}

int compareUtf16(const std::string& a, const std::string& b) {
  std::vector<uint16_t> ua, ub;
  toUtf16(a, ua);
  toUtf16(b, ub);
  if (std::lexicographical_compare(ua.begin(), ua.end(), ub.begin(), ub.end())) return -1;
  if (ua == ub) return 0;
  return 1;
}

bool parse(const std::string& text, Value& out, std::string* err) {
  Parser p(text, err);
  return p.run(out);
}

bool canonicalize(const Value& v, std::string& out, std::string* err) {
  out.clear();
  return writeCanonical(v, out, err);
}

}  // namespace cp::json
