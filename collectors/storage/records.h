// From a flat record (usage event, heartbeat, gap) to the typed columns of its table. A value that
// is missing, of an unexpected JSON type or out of range becomes NULL, never an error: the whole
// record is kept as received in the `attributes` column anyway.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/connection.h"

namespace shadowmeter::collector::records {

// Event ids are 32 hex digits from the agent; accepted here: 1..128 characters of [0-9A-Za-z._-]
// (so a cursor or URL can carry one as is). A record without one cannot be deduplicated and is not
// stored (counted in IngestResult::invalid).
bool valid_event_id(std::string_view id);
std::optional<std::string> event_id_of(const nlohmann::json& record);

// Typed columns hold text of at most this many bytes (indexes have a row size limit); a longer
// value is NULL in its column and complete in `attributes`.
inline constexpr std::size_t kMaxColumnText = 1024;
// Token counts and a gap's dropped events above this are NULL: no real record has them, and the sums
// in rollups and agents() must not overflow.
inline constexpr std::int64_t kMaxTokens = 1'000'000'000'000;

// Non-empty text without NUL bytes and at most kMaxColumnText bytes; else nullopt.
std::optional<std::string> text(const nlohmann::json& record, const char* key);
// Non-negative integer that fits in int64; else nullopt.
std::optional<std::int64_t> unsigned_int(const nlohmann::json& record, const char* key);

// The whole record as JSON text (invalid UTF-8, which the parser never lets through, is replaced).
std::string attributes_json(const nlohmann::json& record);

// Where and when a record arrived, for the columns every table has.
struct Arrival {
  std::uint64_t received_unix_nano = 0;
  std::string principal;  // "" = unknown
};

// The principal column: NULL when unknown (or unusable: too long, holding NUL).
sql::Value principal_value(const Arrival& arrival);

// Columns of the calls table in insertion order, and one event's values in the same order.
// time_unix_nano is the ordering key of every query, so an event without a usable one is filed
// under its arrival time (its attributes still show what was sent).
const std::vector<std::string>& call_columns();
sql::Row call_values(const nlohmann::json& event, const std::string& event_id, const Arrival& arrival);

const std::vector<std::string>& heartbeat_columns();
sql::Row heartbeat_values(const nlohmann::json& record, const std::string& event_id, const Arrival& arrival);

const std::vector<std::string>& gap_columns();
sql::Row gap_values(const nlohmann::json& record, const std::string& event_id, const Arrival& arrival);

// The time a record is filed under (see call_values).
std::int64_t record_time(const nlohmann::json& record, const Arrival& arrival);

}  // namespace shadowmeter::collector::records
