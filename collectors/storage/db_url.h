// Database URLs: which back end, and keeping their passwords out of logs and error messages
// (redact_db_url itself is declared in store.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::collector::db_url {

// The passwords a URL carries (userinfo "user:PASSWORD@" and a "password=" query or conninfo
// parameter), both as written and percent-decoded, so messages that echo either can be scrubbed.
std::vector<std::string> secrets(std::string_view url);

// `text` with every occurrence of each secret replaced by "***".
std::string scrub(std::string text, const std::vector<std::string>& secrets);

}  // namespace shadowmeter::collector::db_url
