#include <doctest/doctest.h>

#include "carbonproof/json.h"

using cp::json::Value;

static std::string canon(const std::string& text) {
  Value v;
  std::string err, out;
  REQUIRE_MESSAGE(cp::json::parse(text, v, &err), err);
  REQUIRE_MESSAGE(cp::json::canonicalize(v, out, &err), err);
  return out;
}

TEST_CASE("jcs sorts keys recursively and strips whitespace") {
  CHECK(canon(R"({ "b": 1, "a": { "z": [3, 2, {"y":1,"x":2}], "c": null }, "A": true })") ==
        R"({"A":true,"a":{"c":null,"z":[3,2,{"x":2,"y":1}]},"b":1})");
}

TEST_CASE("jcs orders keys by UTF-16 code units (RFC 8785 3.2.3 example)") {
  // RFC 8785 §3.2.3: the sorted order of these keys.
  std::string in = R"({"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh",)"
                   R"("1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"})";
  std::string out = canon(in);
  const char* order[] = {"\\r", "1", "\xc2\x80", "\xc3\xb6", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xef\xac\xb3"};
  size_t pos = 0;
  for (const char* k : order) {
    size_t at = out.find(std::string("\"") + k + "\"", pos);
    CHECK_MESSAGE(at != std::string::npos, k);
    pos = at;
  }
}

TEST_CASE("jcs escapes strings like ECMAScript JSON.stringify") {
  Value v = Value::object();
  v.set("s", Value::string(std::string("q\"b\\s/\b\f\n\r\t\x01\x1f\x7f") + "\xc3\xa9\xe2\x82\xac"));
  std::string out;
  REQUIRE(cp::json::canonicalize(v, out));
  CHECK(out == "{\"s\":\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xc3\xa9\xe2\x82\xac\"}");
}

TEST_CASE("jcs writes integers in shortest form and refuses floats and unsafe integers") {
  CHECK(canon("[0, -0, 1, -42, 9007199254740991, -9007199254740991]") ==
        "[0,0,1,-42,9007199254740991,-9007199254740991]");
  Value v;
  std::string out, err;
  REQUIRE(cp::json::parse("[1.5]", v));
  CHECK_FALSE(cp::json::canonicalize(v, out, &err));
  CHECK(err.find("integer") != std::string::npos);
  REQUIRE(cp::json::parse("[9007199254740992]", v));
  CHECK_FALSE(cp::json::canonicalize(v, out, &err));
}

TEST_CASE("numbers written with a fraction or exponent read as ECMAScript does") {
  CHECK(canon("[1.0, 1e2, -0.0, 2.5e1, 1E0]") == "[1,100,0,25,1]");
  Value v;
  std::string out;
  REQUIRE(cp::json::parse("[0.5]", v));
  CHECK_FALSE(cp::json::canonicalize(v, out));
  REQUIRE(cp::json::parse("[1e400]", v));
  CHECK_FALSE(cp::json::canonicalize(v, out));
}

TEST_CASE("json parser rejects malformed input - duplicate keys and invalid UTF-8") {
  Value v;
  CHECK_FALSE(cp::json::parse("{\"a\":1,\"a\":2}", v));
  CHECK_FALSE(cp::json::parse("{\"a\":1,}", v));
  CHECK_FALSE(cp::json::parse("[1] x", v));
  CHECK_FALSE(cp::json::parse("\"\xff\"", v));
  CHECK_FALSE(cp::json::parse("\"\\ud800\"", v));
  CHECK_FALSE(cp::json::parse("\"a\nb\"", v));
  CHECK(cp::json::parse(" {\"a\" : [ ] } ", v));
}
