// Query strings of GET /api/v1/calls: every filter, time formats, limits and the errors that name the
// offending parameter.
#include <catch2/catch.hpp>
#include <string>

#include "server/query_params.h"

using namespace shadowmeter::collector;

TEST_CASE("defaults: no filter, limit 100") {
  const CallFilter f = parse_calls_query("");
  CHECK_FALSE(f.from_unix_nano);
  CHECK_FALSE(f.to_unix_nano);
  CHECK_FALSE(f.shadow);
  CHECK(f.limit == 100);
  CHECK(f.provider.empty());
  CHECK(f.cursor.empty());
}

TEST_CASE("every parameter") {
  const CallFilter f = parse_calls_query(
      "from=1000&to=2026-08-01T12:00:00Z&provider=openai&model=gpt-4o%2Dmini&namespace=team+a&owner=ml&"
      "host=node-1&fingerprint=ab12&shadow=true&limit=1000&cursor=123-abc");
  CHECK(f.from_unix_nano == 1000u);
  CHECK(f.to_unix_nano == 1785585600ull * 1000000000ull);
  CHECK(f.provider == "openai");
  CHECK(f.model == "gpt-4o-mini");
  CHECK(f.k8s_namespace == "team a");
  CHECK(f.owner == "ml");
  CHECK(f.host == "node-1");
  CHECK(f.api_key_fingerprint == "ab12");
  CHECK(f.shadow == true);
  CHECK(f.limit == 1000);
  CHECK(f.cursor == "123-abc");
  CHECK(parse_calls_query("shadow=false").shadow == false);
}

TEST_CASE("RFC 3339 times") {
  CHECK(parse_time_param("from", "2026-08-01T12:00:00Z") == 1785585600ull * 1000000000ull);
  CHECK(parse_time_param("from", "2026-08-01t12:00:00z") == 1785585600ull * 1000000000ull);
  CHECK(parse_time_param("from", "2026-08-01T12:00:00+02:00") == 1785578400ull * 1000000000ull);
  CHECK(parse_time_param("from", "2026-08-01T10:00:00-00:00") == 1785578400ull * 1000000000ull);
  CHECK(parse_time_param("from", "2026-08-01T12:00:00.5Z") == 1785585600ull * 1000000000ull + 500000000ull);
  CHECK(parse_time_param("from", "2026-08-01T12:00:00.123456789123Z") ==
        1785585600ull * 1000000000ull + 123456789ull);
  CHECK(parse_time_param("from", "2024-02-29T23:59:59Z") == 1709251199ull * 1000000000ull);
  CHECK(parse_time_param("from", "1970-01-01T00:00:00Z") == 0);
  CHECK(parse_time_param("to", "1785585600000000000") == 1785585600000000000ull);
  for (const char* bad :
       {"2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-08-01 12:00:00Z", "2026-08-01T12:00:00",
        "2026-08-01T24:00:00Z", "2026-08-01T12:00:00.Z", "2026-08-01T12:00:00+2:00", "2026-08-01",
        "yesterday", "-5", "", "2026-08-01T12:00:00Zjunk", "99999999999999999999999"}) {
    INFO(bad);
    CHECK_THROWS_AS(parse_time_param("from", bad), QueryError);
  }
  CHECK_THROWS_WITH(parse_time_param("from", "1969-12-31T23:59:59Z"), Catch::Contains("before 1970"));
}

TEST_CASE("bad parameters are named") {
  CHECK_THROWS_WITH(parse_calls_query("limit=0"), Catch::Contains("limit"));
  CHECK_THROWS_WITH(parse_calls_query("limit=1001"), Catch::Contains("limit"));
  CHECK_THROWS_WITH(parse_calls_query("limit=ten"), Catch::Contains("limit"));
  CHECK(parse_calls_query("limit=1").limit == 1);
  CHECK_THROWS_WITH(parse_calls_query("shadow=yes"), Catch::Contains("shadow"));
  CHECK_THROWS_WITH(parse_calls_query("from=soon"), Catch::StartsWith("from:"));
  CHECK_THROWS_WITH(parse_calls_query("from=2000&to=1000"), Catch::Contains("before to"));
  CHECK_THROWS_WITH(parse_calls_query("from=1000&to=1000"), Catch::Contains("before to"));
  CHECK_THROWS_WITH(parse_calls_query("provider=a&provider=b"), Catch::Contains("more than once"));
  CHECK_THROWS_WITH(parse_calls_query("modle=x"), Catch::Contains("unknown parameter 'modle'"));
  CHECK_THROWS_WITH(parse_calls_query("model=%zz"), Catch::Contains("%-escape"));
  CHECK_THROWS_WITH(parse_calls_query("model=%4"), Catch::Contains("%-escape"));
}

TEST_CASE("query string splitting") {
  const auto kv = parse_query_string("a=1&&b=&c&d=x%3Dy+z");
  REQUIRE(kv.size() == 4);
  CHECK(kv[0] == std::make_pair(std::string("a"), std::string("1")));
  CHECK(kv[1] == std::make_pair(std::string("b"), std::string()));
  CHECK(kv[2] == std::make_pair(std::string("c"), std::string()));
  CHECK(kv[3] == std::make_pair(std::string("d"), std::string("x=y z")));
}
