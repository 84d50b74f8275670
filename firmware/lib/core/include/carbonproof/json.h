// Minimal JSON value, parser and RFC 8785 (JCS) canonical writer.
//
// Readings are integers-only (docs/protocol.md), so the canonical writer refuses
// non-integer numbers instead of implementing ECMAScript number formatting.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cp::json {

struct Member;

struct Value {
  enum class Type { Null, Bool, Int, Float, String, Array, Object };
  Type type = Type::Null;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<Value> items;     // Array
  std::vector<Member> members;  // Object, in insertion order

  static Value null() { return Value{}; }
  static Value boolean(bool v) { Value x; x.type = Type::Bool; x.b = v; return x; }
  static Value integer(int64_t v) { Value x; x.type = Type::Int; x.i = v; return x; }
  static Value string(std::string v) { Value x; x.type = Type::String; x.s = std::move(v); return x; }
  static Value array() { Value x; x.type = Type::Array; return x; }
  static Value object() { Value x; x.type = Type::Object; return x; }

  bool isObject() const { return type == Type::Object; }
  bool isInt() const { return type == Type::Int; }
  bool isString() const { return type == Type::String; }
  bool isArray() const { return type == Type::Array; }

  // Object helpers. find() returns nullptr when absent.
  const Value* find(const std::string& key) const;
  Value& set(const std::string& key, Value v);  // replaces an existing key
  void push(Value v) { items.push_back(std::move(v)); }
};

struct Member {
  std::string key;
  Value value;
};

// Parses one JSON text (RFC 8259). Integer tokens that fit in int64, and
// numbers with a fraction or exponent whose value is a safe integer (1.0, 1e2,
// as ECMAScript reads them), become Type::Int; other numbers Type::Float. Returns false and sets
// *err on malformed input or duplicate object keys.
bool parse(const std::string& text, Value& out, std::string* err = nullptr);

// RFC 8785 canonical serialisation: object keys sorted by UTF-16 code units,
// no whitespace, integers in shortest form, ES JSON.stringify string escaping.
// Refuses floats, integers outside the safe range (|n| >= 2^53), invalid UTF-8
// and duplicate keys.
bool canonicalize(const Value& v, std::string& out, std::string* err = nullptr);

// Compares two UTF-8 strings by their UTF-16 code units (RFC 8785 §3.2.3).
int compareUtf16(const std::string& a, const std::string& b);

}  // namespace cp::json
