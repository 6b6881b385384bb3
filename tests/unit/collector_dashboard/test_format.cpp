// The dashboard's number formatting and escaping.
#include <catch2/catch.hpp>
#include <cmath>

#include "dashboard/format.h"
#include "dashboard/html.h"

using namespace shadowmeter::collector::dashboard;

TEST_CASE("money") {
  CHECK(money(0) == "$0.00");
  CHECK(money(12.345678) == "$12.35");
  CHECK(money(1234567.891) == "$1,234,567.89");
  CHECK(money(0.5) == "$0.50");
  CHECK(money(0.004213) == "$0.004213");
  CHECK(money(0.0000123456) == "$0.00001235");
  CHECK(money(0.996) == "$1.00");
  CHECK(money(-3.5) == "-$3.50");
  CHECK(money(NAN) == "n/a");
}

TEST_CASE("counts, compact numbers and shares") {
  CHECK(count(0) == "0");
  CHECK(count(999) == "999");
  CHECK(count(1000) == "1,000");
  CHECK(count(1234567) == "1,234,567");
  CHECK(count(-12345) == "-12,345");
  CHECK(compact(950) == "950");
  CHECK(compact(1500) == "1.5k");
  CHECK(compact(25000) == "25k");
  CHECK(compact(3200000) == "3.2M");
  CHECK(compact(0.25) == "0.25");
  CHECK(percent(0.75) == "75.0%");
  CHECK(percent(1) == "100.0%");
  CHECK(percent(0) == "0.0%");
  CHECK(percent(0.0001) == "<0.1%");
  CHECK(percent(0.99977) == ">99.9%");
  CHECK(percent(0.9994) == "99.9%");
  CHECK(percent(0.12345) == "12.3%");
}

TEST_CASE("show and exact read JSON as it is") {
  using nlohmann::json;
  const json v = 0.1;
  CHECK(exact(&v) == "0.1");
  CHECK(show(&v, Kind::money) == "$0.10");
  const json n = nullptr;
  CHECK(exact(&n) == "null");
  CHECK(show(&n, Kind::count) == "n/a");
  CHECK(exact(nullptr) == "null");
  const json s = "text";
  CHECK(exact(&s) == "text");
  CHECK(show(&s, Kind::money) == "n/a");  // a mistyped figure is not shown as a number
  const json i = 42;
  CHECK(exact(&i) == "42");
  const json obj = {{"a", {{"b", 3}}}, {"arr", json::array({1})}};
  CHECK(number(field(field(obj, "a"), "b")) == 3.0);
  CHECK(field(obj, "missing") == nullptr);
  CHECK(field(i, "a") == nullptr);
  CHECK(array(obj, "a").empty());
  CHECK(array(obj, "arr").size() == 1);
  CHECK(text(obj, "missing").empty());
}

TEST_CASE("escaping") {
  CHECK(esc("<a href=\"x\">'&'</a>") == "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  CHECK(esc("caf\xC3\xA9 \xE2\x86\x92") == "caf\xC3\xA9 \xE2\x86\x92");  // valid UTF-8 kept
  CHECK(esc(std::string("a\0b", 3)) ==
        "a\xEF\xBF\xBD"
        "b");
  CHECK(esc("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong '/'
  CHECK(esc("\xF0\x9F\x98") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // truncated sequence
  CHECK(esc("tab\tnl\n") == "tab\tnl\n");
  CHECK(attr("title", "a\"b") == " title=\"a&quot;b\"");
}
