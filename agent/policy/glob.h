// Shell-style glob ('*' any run, '?' one character) used by owner rules, sanction rules and gateways.
#pragma once

#include <string_view>

namespace shadowmeter::policy {

enum class Case : bool { sensitive, insensitive };

// Whole-string match. Linear backtracking over the last '*': O(pattern * text) at worst, no recursion.
bool glob_match(std::string_view pattern, std::string_view text, Case c = Case::sensitive);

// Hosts: case-insensitive; "host:port" is also tried without the port when the pattern has none.
bool host_match(std::string_view pattern, std::string_view host);

// Executables: a pattern with '/' matches the path, any other pattern the name (or the path's last part).
bool executable_match(std::string_view pattern, std::string_view path, std::string_view name);

}  // namespace shadowmeter::policy
