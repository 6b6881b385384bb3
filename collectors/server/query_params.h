// Query strings of the JSON API (GET /api/v1/calls?...) to store filters, with the parameter named in
// every error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "storage/store.h"

namespace shadowmeter::collector {

// A bad query parameter; what() says which and why (answered as 400).
struct QueryError : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};

// "a=1&b=x%20y" -> {{"a","1"},{"b","x y"}} ('+' is a space). Throws QueryError on bad %-escapes.
std::vector<std::pair<std::string, std::string>> parse_query_string(std::string_view query);

// Unix nanoseconds ("1754000000000000000") or RFC 3339 ("2026-08-01T12:00:00Z",
// "2026-08-01T12:00:00.5+02:00"); times before 1970 are refused. Throws QueryError naming `param`.
std::uint64_t parse_time_param(std::string_view param, std::string_view value);

// from, to, provider, model, namespace, owner, host, fingerprint, shadow (true|false), limit (1..1000,
// default 100), cursor. Unknown or repeated parameters, from >= to, and bad values throw QueryError.
CallFilter parse_calls_query(std::string_view query);

}  // namespace shadowmeter::collector
