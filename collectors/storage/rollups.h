// Rollups maintained at ingest: every newly stored call is added, in the same transaction as its raw
// row, to one hourly and one daily row keyed by every report dimension. The reports and the dashboard
// read only these tables, so their cost grows with the number of distinct keys per bucket, not with
// the number of calls. A redelivered call is never new (the raw insert dedupes on its event id), so
// it is never added twice.
//
// Tables rollups_hourly and rollups_daily (same columns): bucket_unix_nano (start of the UTC hour or
// day), key_hash (see key_hash()), the key columns below ('' = unknown; shadow -1 unknown, 0, 1) and
// the measures. The primary key is (bucket_unix_nano, key_hash): a fixed-size key, so a long value
// in some dimension can never make an index row too large.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "storage/connection.h"

namespace shadowmeter::collector::rollups {

inline constexpr std::uint64_t kHourNs = 3600ull * 1000000000ull;
inline constexpr std::uint64_t kDayNs = 24 * kHourNs;

// The text key columns, in table order.
enum KeyText : std::size_t {
  owner,
  k8s_namespace,
  workload,  // "<kind>/<name>", else the executable
  host_name,
  provider,
  model,  // request model, else response model
  api_key_fingerprint,
  environment,
  operation,
  executable,
  pricing_source,
  usage_source,
  visibility,
  visibility_reason,
  tls_library,
  server_address,
  shadow_reason,
  dimensions,  // canonical JSON object of the shadowmeter.dimension.* attributes, '' when none
  kKeyTexts
};
const std::array<const char*, kKeyTexts>& key_text_columns();

struct Key {
  std::array<std::string, kKeyTexts> text;
  std::int64_t shadow = -1;
  auto operator<=>(const Key&) const = default;
};

struct Sums {
  std::int64_t calls = 0;        // readable calls
  std::int64_t connections = 0;  // connection_only events (blind connections, not calls)
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  std::int64_t cache_read_tokens = 0;
  std::int64_t cache_creation_tokens = 0;
  std::int64_t reasoning_tokens = 0;
  double cost_usd = 0;
  std::int64_t priced_calls = 0;
  std::int64_t priced_tokens = 0;   // input + output tokens of priced calls
  std::int64_t bytes_sent = 0;      // of blind connections
  std::int64_t bytes_received = 0;  // of blind connections
  std::int64_t legacy_calls = 0;    // calls migrated from the old daily rollups (their workload, key,
                                    // environment, operation, executable were lost then)
  std::int64_t first_seen = 0;      // min / max event time in the row
  std::int64_t last_seen = 0;

  void add(const Sums& o);
};
const std::vector<std::string>& measure_columns();

// What one call adds: its time, key and measures.
struct Fact {
  std::int64_t time = 0;
  Key key;
  Sums sums;
};

// The Fact of a call, from its calls row (records::call_values order) and the event it was built from
// (for the dimensions and a blind connection's byte counts).
Fact fact_of(const sql::Row& call_row, const nlohmann::json& event);

// The canonical JSON of an event's valid shadowmeter.dimension.* attributes ('' when none): names
// [a-z0-9_]{1,32}, string values of 1..128 bytes without NUL, at most 8 (in name order). Anything
// else was already dropped and counted by the receiver; here it is only ignored.
std::string dimensions_of(const nlohmann::json& event);

// 32 hex digits (the first 128 bits of SHA-256) of the key's canonical serialisation.
std::string key_hash(const Key& key);

// Aggregates the facts of one transaction by (bucket, key), then upserts them into both tables in
// key-hash order (replicas sharing a PostgreSQL database lock rows in the same order: no deadlock).
class Accumulator {
 public:
  void add(const Fact& f);
  bool empty() const { return hourly_.empty() && daily_.empty(); }
  void flush(sql::Connection& c);  // then empty

 private:
  using Buckets = std::map<std::pair<std::int64_t, Key>, Sums>;
  Buckets hourly_;
  Buckets daily_;
};

}  // namespace shadowmeter::collector::rollups
