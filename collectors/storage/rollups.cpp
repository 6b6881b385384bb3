#include "storage/rollups.h"

#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include "storage/records.h"

namespace shadowmeter::collector::rollups {
namespace {

using sql::Row;
using sql::Value;

// Rows per multi-row upsert on PostgreSQL (a round trip per statement; 100 x 37 parameters stays far
// below its 65535); SQLite runs in process and one cached single-row statement is fastest.
constexpr std::size_t kPgRowsPerUpsert = 100;
constexpr std::size_t kMaxDimensions = 8;
constexpr std::size_t kMaxDimensionName = 32;
constexpr std::size_t kMaxDimensionValue = 128;
constexpr std::int64_t kMaxBytes = 1125899906842624;  // 2^50: a larger byte count is not believed
constexpr std::string_view kDimensionPrefix = "shadowmeter.dimension.";

// Positions of the calls columns a fact reads, looked up once by name.
struct Positions {
  std::size_t time, kind, name;
  std::size_t columns[kKeyTexts];  // SIZE_MAX: not a calls column (workload, model, dimensions)
  std::size_t request_model, response_model, shadow, input, output, cache_read, cache_creation, reasoning,
      cost;
};

std::size_t position(const char* column) {
  const auto& cols = records::call_columns();
  const auto it = std::find(cols.begin(), cols.end(), column);
  if (it == cols.end()) throw std::logic_error(std::string("rollups: no calls column ") + column);
  return static_cast<std::size_t>(it - cols.begin());
}

const Positions& positions() {
  static const Positions p = [] {
    Positions x{};
    x.time = position("time_unix_nano");
    x.kind = position("k8s_workload_kind");
    x.name = position("k8s_workload_name");
    const char* from_calls[kKeyTexts] = {"owner",          "k8s_namespace",
                                         nullptr,          "host_name",
                                         "provider",       nullptr,
                                         "api_key_fingerprint", "environment",
                                         "operation",      "process_executable_name",
                                         "pricing_source", "usage_source",
                                         "visibility",     "visibility_reason",
                                         "tls_library",    "server_address",
                                         "shadow_reason",  nullptr};
    for (std::size_t i = 0; i < kKeyTexts; ++i) x.columns[i] = from_calls[i] ? position(from_calls[i]) : SIZE_MAX;
    x.request_model = position("request_model");
    x.response_model = position("response_model");
    x.shadow = position("shadow");
    x.input = position("input_tokens");
    x.output = position("output_tokens");
    x.cache_read = position("cache_read_tokens");
    x.cache_creation = position("cache_creation_tokens");
    x.reasoning = position("reasoning_tokens");
    x.cost = position("cost_usd");
    return x;
  }();
  return p;
}

const std::string* text_at(const Row& r, std::size_t i) { return std::get_if<std::string>(&r.at(i)); }
std::int64_t int_at(const Row& r, std::size_t i) {
  const auto* v = std::get_if<std::int64_t>(&r.at(i));
  return v != nullptr ? *v : 0;
}

bool dimension_name_ok(std::string_view n) {
  if (n.empty() || n.size() > kMaxDimensionName) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'; });
}

std::int64_t byte_count(const nlohmann::json& event, const char* key) {
  const auto it = event.find(key);
  if (it == event.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) {
    const auto u = it->get<std::uint64_t>();
    return u <= static_cast<std::uint64_t>(kMaxBytes) ? static_cast<std::int64_t>(u) : 0;
  }
  const auto n = it->get<std::int64_t>();
  return n >= 0 && n <= kMaxBytes ? n : 0;
}

std::string upsert_sql(const char* table, std::size_t rows) {
  std::string cols = "bucket_unix_nano, key_hash";
  for (const char* c : key_text_columns()) cols += std::string(", ") + c;
  cols += ", shadow";
  for (const auto& m : measure_columns()) cols += ", " + m;
  const std::size_t n = 3 + kKeyTexts + measure_columns().size();
  std::string tuple = "(";
  for (std::size_t i = 0; i < n; ++i) tuple += i ? ", ?" : "?";
  tuple += ")";
  std::string sql = std::string("INSERT INTO ") + table + " (" + cols + ") VALUES ";
  for (std::size_t r = 0; r < rows; ++r) sql += (r ? ", " : "") + tuple;
  sql += " ON CONFLICT (bucket_unix_nano, key_hash) DO UPDATE SET ";
  const std::string t = table;
  bool first = true;
  for (const auto& m : measure_columns()) {
    if (!first) sql += ", ";
    first = false;
    if (m == "first_seen_unix_nano") {
      sql += m + " = CASE WHEN excluded." + m + " < " + t + "." + m + " THEN excluded." + m + " ELSE " + t + "." + m +
             " END";
    } else if (m == "last_seen_unix_nano") {
      sql += m + " = CASE WHEN excluded." + m + " > " + t + "." + m + " THEN excluded." + m + " ELSE " + t + "." + m +
             " END";
    } else {
      sql += m + " = " + t + "." + m + " + excluded." + m;
    }
  }
  return sql;
}

void append_values(Row& params, std::int64_t bucket, const std::string& hash, const Key& k, const Sums& s) {
  params.emplace_back(bucket);
  params.emplace_back(hash);
  for (const std::string& t : k.text) params.emplace_back(t);
  params.emplace_back(k.shadow);
  for (const std::int64_t v : {s.calls, s.connections, s.input_tokens, s.output_tokens, s.cache_read_tokens,
                               s.cache_creation_tokens, s.reasoning_tokens})
    params.emplace_back(v);
  params.emplace_back(s.cost_usd);
  for (const std::int64_t v :
       {s.priced_calls, s.priced_tokens, s.bytes_sent, s.bytes_received, s.legacy_calls, s.first_seen, s.last_seen})
    params.emplace_back(v);
}

struct Pending {
  std::string hash;
  std::int64_t bucket;
  const Key* key;
  const Sums* sums;
};

void upsert(sql::Connection& c, const char* table, const std::map<std::pair<std::int64_t, Key>, Sums>& rows) {
  std::vector<Pending> pending;
  pending.reserve(rows.size());
  for (const auto& [bk, sums] : rows) pending.push_back({key_hash(bk.second), bk.first, &bk.second, &sums});
  std::sort(pending.begin(), pending.end(), [](const Pending& a, const Pending& b) {
    return a.bucket != b.bucket ? a.bucket < b.bucket : a.hash < b.hash;
  });
  const std::size_t chunk = c.dialect() == sql::Dialect::postgresql ? kPgRowsPerUpsert : 1;
  const std::string full = upsert_sql(table, chunk);
  for (std::size_t i = 0; i < pending.size(); i += chunk) {
    const std::size_t n = std::min(chunk, pending.size() - i);
    Row params;
    params.reserve(n * (3 + kKeyTexts + measure_columns().size()));
    for (std::size_t r = i; r < i + n; ++r)
      append_values(params, pending[r].bucket, pending[r].hash, *pending[r].key, *pending[r].sums);
    c.execute(n == chunk ? full : upsert_sql(table, n), params);
  }
}

}  // namespace

const std::array<const char*, kKeyTexts>& key_text_columns() {
  static const std::array<const char*, kKeyTexts> c = {
      "owner",          "k8s_namespace", "workload",          "host_name",   "provider",
      "model",          "api_key_fingerprint", "environment", "operation",   "executable",
      "pricing_source", "usage_source",  "visibility",        "visibility_reason", "tls_library",
      "server_address", "shadow_reason", "dimensions"};
  return c;
}

const std::vector<std::string>& measure_columns() {
  static const std::vector<std::string> m = {
      "calls",          "connections",    "input_tokens", "output_tokens",        "cache_read_tokens",
      "cache_creation_tokens", "reasoning_tokens", "cost_usd", "priced_calls",  "priced_tokens",
      "bytes_sent",     "bytes_received", "legacy_calls", "first_seen_unix_nano", "last_seen_unix_nano"};
  return m;
}

void Sums::add(const Sums& o) {
  first_seen = std::min(first_seen, o.first_seen);
  last_seen = std::max(last_seen, o.last_seen);
  calls += o.calls;
  connections += o.connections;
  input_tokens += o.input_tokens;
  output_tokens += o.output_tokens;
  cache_read_tokens += o.cache_read_tokens;
  cache_creation_tokens += o.cache_creation_tokens;
  reasoning_tokens += o.reasoning_tokens;
  cost_usd += o.cost_usd;
  priced_calls += o.priced_calls;
  priced_tokens += o.priced_tokens;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  legacy_calls += o.legacy_calls;
}

std::string dimensions_of(const nlohmann::json& event) {
  if (!event.is_object()) return "";
  nlohmann::json dims = nlohmann::json::object();
  // Attribute names are sorted (std::map), so the shadowmeter.dimension.* keys are one contiguous run.
  const auto& attributes = event.get_ref<const nlohmann::json::object_t&>();
  for (auto it = attributes.lower_bound(std::string(kDimensionPrefix)); it != attributes.end(); ++it) {
    const std::string_view k = it->first;
    if (k.substr(0, kDimensionPrefix.size()) != kDimensionPrefix) break;
    const std::string_view name = k.substr(kDimensionPrefix.size());
    if (!dimension_name_ok(name) || !it->second.is_string()) continue;
    const auto& v = it->second.get_ref<const std::string&>();
    if (v.empty() || v.size() > kMaxDimensionValue || v.find('\0') != std::string::npos) continue;
    if (dims.size() == kMaxDimensions) break;
    dims[std::string(name)] = v;
  }
  return dims.empty() ? "" : dims.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Fact fact_of(const Row& r, const nlohmann::json& event) {
  const Positions& p = positions();
  Fact f;
  f.time = int_at(r, p.time);
  for (std::size_t i = 0; i < kKeyTexts; ++i) {
    if (p.columns[i] == SIZE_MAX) continue;
    if (const std::string* s = text_at(r, p.columns[i])) f.key.text[i] = *s;
  }
  if (const std::string* name = text_at(r, p.name)) {
    const std::string* kind = text_at(r, p.kind);
    f.key.text[workload] = (kind ? *kind : std::string()) + "/" + *name;
  } else {
    f.key.text[workload] = f.key.text[executable];
  }
  if (const std::string* m = text_at(r, p.request_model)) {
    f.key.text[model] = *m;
  } else if (const std::string* rm = text_at(r, p.response_model)) {
    f.key.text[model] = *rm;
  }
  f.key.text[dimensions] = dimensions_of(event);
  if (const auto* s = std::get_if<std::int64_t>(&r.at(p.shadow))) f.key.shadow = *s != 0 ? 1 : 0;

  Sums& s = f.sums;
  const bool blind = f.key.text[visibility] == "connection_only";
  s.calls = blind ? 0 : 1;
  s.connections = blind ? 1 : 0;
  s.input_tokens = int_at(r, p.input);
  s.output_tokens = int_at(r, p.output);
  s.cache_read_tokens = int_at(r, p.cache_read);
  s.cache_creation_tokens = int_at(r, p.cache_creation);
  s.reasoning_tokens = int_at(r, p.reasoning);
  if (const auto* cost = std::get_if<double>(&r.at(p.cost))) {
    s.cost_usd = *cost;
    s.priced_calls = 1;
    s.priced_tokens = s.input_tokens + s.output_tokens;
  }
  if (blind && event.is_object()) {
    s.bytes_sent = byte_count(event, "shadowmeter.connection.bytes_sent");
    s.bytes_received = byte_count(event, "shadowmeter.connection.bytes_received");
  }
  s.first_seen = s.last_seen = f.time;
  return f;
}

std::string key_hash(const Key& key) {
  std::string canonical;
  for (const std::string& t : key.text) {
    canonical += std::to_string(t.size());
    canonical += ':';
    canonical += t;
  }
  canonical += std::to_string(key.shadow);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(canonical.data()), canonical.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (std::size_t i = 0; i < 16; ++i) {
    out[2 * i] = kHex[digest[i] >> 4];
    out[2 * i + 1] = kHex[digest[i] & 0xf];
  }
  return out;
}

void Accumulator::add(const Fact& f) {
  const auto t = static_cast<std::uint64_t>(std::max<std::int64_t>(f.time, 0));
  const auto hour = static_cast<std::int64_t>(t / kHourNs * kHourNs);
  const auto day = static_cast<std::int64_t>(t / kDayNs * kDayNs);
  for (auto [rows, bucket] : {std::pair{&hourly_, hour}, std::pair{&daily_, day}}) {
    const auto [it, inserted] = rows->try_emplace({bucket, f.key}, f.sums);
    if (!inserted) it->second.add(f.sums);
  }
}

void Accumulator::flush(sql::Connection& c) {
  upsert(c, "rollups_hourly", hourly_);
  upsert(c, "rollups_daily", daily_);
  hourly_.clear();
  daily_.clear();
}

}  // namespace shadowmeter::collector::rollups
