#include "dashboard/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace shadowmeter::collector::dashboard {
namespace {

// "1234567" -> "1,234,567" (digits only, no sign).
std::string group_thousands(const std::string& digits) {
  std::string out;
  const std::size_t n = digits.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (i > 0 && (n - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

}  // namespace

std::string money(double usd) {
  if (!std::isfinite(usd)) return "n/a";
  const bool negative = usd < 0;
  const double a = std::fabs(usd);
  std::string body;
  if (a > 0 && a < 0.995) {
    // Four significant digits: small per-call costs stay readable ("$0.0004213").
    const int decimals = std::min(10, 3 - static_cast<int>(std::floor(std::log10(a))));
    body = fixed(a, std::max(2, decimals));
    // Trim trailing zeros beyond the cents.
    while (body.size() > 4 && body.back() == '0' && body[body.size() - 3] != '.') body.pop_back();
  } else {
    const std::string s = fixed(a, 2);
    const std::size_t dot = s.find('.');
    body = group_thousands(s.substr(0, dot)) + s.substr(dot);
  }
  return (negative ? "-$" : "$") + body;
}

std::string count(double n) {
  if (!std::isfinite(n)) return "n/a";
  const bool negative = n < 0;
  const std::string s = fixed(std::fabs(std::round(n)), 0);
  return (negative ? "-" : "") + group_thousands(s);
}

std::string compact(double n) {
  if (!std::isfinite(n)) return "n/a";
  const double a = std::fabs(n);
  const char* sign = n < 0 ? "-" : "";
  auto one = [&](double v, const char* unit) {
    std::string s = fixed(v, v < 10 ? 1 : 0);
    if (s.size() > 2 && s.substr(s.size() - 2) == ".0") s.resize(s.size() - 2);
    return sign + s + unit;
  };
  if (a >= 1e9) return one(a / 1e9, "B");
  if (a >= 1e6) return one(a / 1e6, "M");
  if (a >= 1e3) return one(a / 1e3, "k");
  if (a >= 10 || a == std::round(a)) return sign + fixed(a, 0);
  return sign + fixed(a, a >= 1 ? 1 : 2);
}

std::string percent(double share) {
  if (!std::isfinite(share)) return "n/a";
  const double p = share * 100.0;
  // Never round a partial share to a whole one, or a nonzero share to nothing.
  if (p > 0 && p < 0.05) return "<0.1%";
  if (p < 100 && p >= 99.95) return ">99.9%";
  return fixed(p, 1) + "%";
}

std::string show(const json* v, Kind kind) {
  if (v == nullptr || v->is_null()) return "n/a";
  if (kind == Kind::text) return v->is_string() ? v->get<std::string>() : v->dump();
  if (!v->is_number()) return "n/a";
  const double d = v->get<double>();
  switch (kind) {
    case Kind::money:
      return money(d);
    case Kind::count:
      return count(d);
    case Kind::share:
      return percent(d);
    case Kind::text:
      break;
  }
  return "n/a";
}

std::string exact(const json* v) {
  if (v == nullptr) return "null";
  if (v->is_string()) return v->get<std::string>();
  return v->dump(-1, ' ', false, json::error_handler_t::replace);
}

const json* field(const json& j, std::string_view key) {
  if (!j.is_object()) return nullptr;
  const auto it = j.find(key);
  return it == j.end() ? nullptr : &*it;
}

const json* field(const json* j, std::string_view key) { return j ? field(*j, key) : nullptr; }

std::optional<double> number(const json* j) {
  if (j == nullptr || !j->is_number()) return std::nullopt;
  return j->get<double>();
}

std::optional<double> number(const json& j, std::string_view key) { return number(field(j, key)); }

std::string text(const json& j, std::string_view key) {
  const json* v = field(j, key);
  if (v == nullptr || v->is_null()) return "";
  return v->is_string() ? v->get<std::string>() : v->dump(-1, ' ', false, json::error_handler_t::replace);
}

const json& array(const json& j, std::string_view key) {
  static const json empty = json::array();
  const json* v = field(j, key);
  return v && v->is_array() ? *v : empty;
}

const json& array(const json* j, std::string_view key) {
  static const json empty = json::array();
  return j ? array(*j, key) : empty;
}

}  // namespace shadowmeter::collector::dashboard
