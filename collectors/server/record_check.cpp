#include "server/record_check.h"

#include <array>
#include <cmath>
#include <limits>
#include <string_view>

#include "common/excerpt.h"
#include "common/utf8.h"

namespace shadowmeter::collector {
namespace {

using nlohmann::json;

enum class Type { count, counter, time, money, status_code, boolean };

struct Rule {
  std::string_view key;
  Type type;
};

constexpr std::array kRules = {
    Rule{"time_unix_nano", Type::time},
    Rule{"end_time_unix_nano", Type::time},
    Rule{"shadowmeter.agent.start_time_unix_nano", Type::time},
    Rule{"shadowmeter.gap.dropped_events", Type::count},
    Rule{"shadowmeter.cost.usd", Type::money},
    Rule{"http.response.status_code", Type::status_code},
    Rule{"shadowmeter.stream", Type::boolean},
    Rule{"shadowmeter.shadow", Type::boolean},
};

// Attribute families by prefix: the agent's health counters and connection byte counts.
constexpr std::array<std::string_view, 6> kCounterPrefixes = {"shadowmeter.capture.", "shadowmeter.probes.",
                                                             "shadowmeter.spool.",   "shadowmeter.export.",
                                                             "shadowmeter.events.",  "shadowmeter.connection."};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool ends_with(std::string_view s, std::string_view p) {
  return s.size() >= p.size() && s.substr(s.size() - p.size()) == p;
}

std::optional<Type> type_of(std::string_view key) {
  for (const Rule& r : kRules)
    if (r.key == key) return r.type;
  if (starts_with(key, "gen_ai.usage.") && ends_with(key, "_tokens")) return Type::count;
  for (std::string_view p : kCounterPrefixes)
    if (starts_with(key, p)) return Type::counter;
  return std::nullopt;
}

std::string shown(const json& v) {
  return v.is_string() ? "\"" + excerpt(v.get_ref<const std::string&>()) + "\"" : excerpt(v.dump());
}

bool integer_in(const json& v, std::int64_t lo, std::int64_t hi) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    return u <= static_cast<std::uint64_t>(hi) && (lo <= 0 || u >= static_cast<std::uint64_t>(lo));
  }
  if (v.is_number_integer()) return v.get<std::int64_t>() >= lo && v.get<std::int64_t>() <= hi;
  return false;
}

std::optional<std::string> check_typed(std::string_view key, Type type, const json& v) {
  const auto bad = [&](const char* want) {
    return "attribute " + std::string(key) + ": " + shown(v) + " is not " + want;
  };
  constexpr std::int64_t kInt64Max = std::numeric_limits<std::int64_t>::max();
  switch (type) {
    case Type::count:
      if (!integer_in(v, 0, kMaxRecordCount)) return bad("an integer in 0..1000000000");
      break;
    case Type::counter:
      if (!integer_in(v, 0, kMaxCounter)) return bad("an integer in 0..2^53");
      break;
    case Type::time:
      if (!integer_in(v, 0, kInt64Max)) return bad("nanoseconds since the epoch in 0..2^63-1");
      break;
    case Type::status_code:
      if (!integer_in(v, 0, 999)) return bad("an HTTP status code in 0..999");
      break;
    case Type::boolean:
      if (!v.is_boolean()) return bad("a boolean");
      break;
    case Type::money: {
      if (!v.is_number()) return bad("a number of US dollars");
      const double d = v.get<double>();
      if (!std::isfinite(d) || d < 0 || d > kMaxCallCostUsd) return bad("a cost in 0..1000000 US dollars");
      break;
    }
  }
  return std::nullopt;
}

constexpr std::string_view kDimensionPrefix = "shadowmeter.dimension.";
constexpr std::string_view kTagPrefix = "shadowmeter.tag.";

bool valid_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = utf8::char_length(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace

const char* dimension_problem(std::string_view key, const json& value, std::size_t count_so_far) {
  std::size_t limit = 0;
  if (starts_with(key, kDimensionPrefix)) {
    key.remove_prefix(kDimensionPrefix.size());
    limit = kMaxDimensionsPerEvent;
  } else if (starts_with(key, kTagPrefix)) {
    key.remove_prefix(kTagPrefix.size());
    limit = kMaxTagsPerEvent;
  } else {
    return nullptr;
  }
  if (key.empty() || key.size() > 32) return "bad_name";
  for (char c : key)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return "bad_name";
  if (!value.is_string()) return "not_a_string";
  const auto& s = value.get_ref<const std::string&>();
  if (s.empty()) return "empty";
  if (s.size() > kMaxDimensionValueBytes) return "too_long";
  if (!valid_utf8(s)) return "not_utf8";
  if (s.find('\0') != std::string::npos) return "nul_character";
  if (count_so_far >= limit) return "too_many";
  return nullptr;
}

std::vector<DroppedAttribute> drop_bad_dimensions(json& record) {
  std::vector<DroppedAttribute> dropped;
  if (!record.is_object()) return dropped;
  std::size_t dims = 0;
  std::size_t tags = 0;
  for (auto it = record.begin(); it != record.end();) {
    const std::string& key = it.key();
    const bool is_dim = starts_with(key, kDimensionPrefix);
    if (!is_dim && !starts_with(key, kTagPrefix)) {
      ++it;
      continue;
    }
    std::size_t& count = is_dim ? dims : tags;
    if (const char* why = dimension_problem(key, it.value(), count)) {
      dropped.push_back({key, why});
      it = record.erase(it);
      continue;
    }
    ++count;
    ++it;
  }
  return dropped;
}

std::optional<std::string> check_record(const json& record) {
  if (!record.is_object()) return "a record must be an object";
  std::size_t bytes = 0;
  for (const auto& [key, value] : record.items()) {
    if (key.find('\0') != std::string::npos) return "attribute \"" + excerpt(key) + "\": the key holds a NUL character";
    bytes += key.size() + 16;
    if (value.is_string()) {
      const auto& s = value.get_ref<const std::string&>();
      if (s.find('\0') != std::string::npos) return "attribute " + excerpt(key) + ": the string holds a NUL character";
      bytes += s.size();
    }
    if (const auto type = type_of(key)) {
      if (auto why = check_typed(key, *type, value)) return why;
    } else if (value.is_number_float() && !std::isfinite(value.get<double>())) {
      return "attribute " + excerpt(key) + ": the number is not finite";
    }
  }
  if (bytes > kMaxRecordBytes)
    return "the record's attributes add up to more than " + std::to_string(kMaxRecordBytes) + " bytes";
  return std::nullopt;
}

}  // namespace shadowmeter::collector
