// JSON field scanner: paths, truncated versus invalid text, and numbers cut at the end of a text.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "providers/json_scan.h"

using shadowmeter::providers::JsonVisitor;
using shadowmeter::providers::scan_json;
using shadowmeter::providers::ScanResult;

namespace {

class Recorder final : public JsonVisitor {
 public:
  std::vector<std::string> seen;
  void on_string(std::string_view p, std::string_view v) override {
    seen.push_back("S " + std::string(p) + "=" + std::string(v));
  }
  void on_integer(std::string_view p, std::int64_t v) override {
    seen.push_back("I " + std::string(p) + "=" + std::to_string(v));
  }
  void on_bool(std::string_view p, bool v) override {
    seen.push_back("B " + std::string(p) + (v ? "=1" : "=0"));
  }
  void on_null(std::string_view p) override { seen.push_back("N " + std::string(p)); }
  void on_object_end(std::string_view p) override { seen.push_back("E " + std::string(p)); }
};

std::vector<std::string> scan(std::string_view text, ScanResult expect) {
  Recorder r;
  CHECK(scan_json(text, r) == expect);
  return r.seen;
}

using V = std::vector<std::string>;

}  // namespace

TEST_CASE("paths name keys and array elements") {
  CHECK(scan(R"({"a":1,"b":{"c":[2,{"d":"x"}],"e":null,"f":true},"g":12.0,"h":1.5})", ScanResult::ok) ==
        V{"I a=1", "I b.c.[]=2", "S b.c.[].d=x", "E b.c.[]", "N b.e", "B b.f=1", "E b", "I g=12", "E "});
  CHECK(scan("42", ScanResult::ok) == V{"I =42"});
  CHECK(scan(R"({"big":18446744073709551615,"neg":-3})", ScanResult::ok) == V{"I neg=-3", "E "});
}

TEST_CASE("a cut text is truncated; fields completed before the cut are reported") {
  CHECK(scan(R"({"model":"gpt-4o","messages":[{"content":"hel)", ScanResult::truncated) ==
        V{"S model=gpt-4o"});
  CHECK(scan(R"({"a":{"b":1},"c")", ScanResult::truncated) == V{"I a.b=1", "E a"});
  CHECK(scan("", ScanResult::truncated).empty());
  CHECK(scan("   ", ScanResult::truncated).empty());
  CHECK(scan(R"({"a":tr)", ScanResult::truncated).empty());
}

TEST_CASE("a number running into the end of a cut text is not reported") {
  // "46" cut to "4" must not become 4.
  CHECK(scan(R"({"n":4)", ScanResult::truncated).empty());
  CHECK(scan(R"({"n":4,"m":5)", ScanResult::truncated) == V{"I n=4"});
  CHECK(scan(R"({"n":4})", ScanResult::ok) == V{"I n=4", "E "});
}

TEST_CASE("syntax errors and trailing garbage are invalid") {
  CHECK(scan(R"({"a":1,})", ScanResult::invalid).empty());
  CHECK(scan(R"({"a":1}})", ScanResult::invalid) == V{"I a=1", "E "});
  CHECK(scan("<html>502 Bad Gateway</html>", ScanResult::invalid).empty());
  CHECK(scan("{\"a\":\"\xff\"}", ScanResult::invalid).empty());
}
