// What the collector accepts in one decoded record (usage event, heartbeat, gap) before anything is
// queued: the attributes the store and the reports compute with must have their type and a range
// whose sums cannot overflow, and no string may hold a NUL character (PostgreSQL text and jsonb cannot
// store one). A record that breaks a rule refuses its whole request with a 400 naming the attribute:
// an impossible value is the sender's bug, and storing it would poison every report that sums it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace shadowmeter::collector {

// One call's estimated cost above this (USD) is refused: list prices of real calls are cents to
// dollars, and sums of values below it stay finite in double precision whatever the row count.
inline constexpr double kMaxCallCostUsd = 1e6;
// Token counts (gen_ai.usage.*_tokens) and a gap's dropped events above this are refused: a billion
// rows of the maximum still sum inside int64.
inline constexpr std::int64_t kMaxRecordCount = 1'000'000'000;
// Cumulative agent counters (heartbeats) and byte counts: integers exact in a double.
inline constexpr std::int64_t kMaxCounter = std::int64_t{1} << 53;
// A record whose keys and strings add up to more than this is refused (an agent's event is a few
// KiB): it bounds the stored row, and so the memory of a page of /api/v1/calls.
inline constexpr std::size_t kMaxRecordBytes = 64 * 1024;

// Custom dimensions and tags (docs/events.md): shadowmeter.dimension.<name> and shadowmeter.tag.<name>,
// <name> of [a-z0-9_]{1,32}, a string value of 1 to 128 bytes of UTF-8, at most 8 dimensions and 4 tags
// per event. Unlike the rules above, an attribute that breaks these is dropped and the rest of the
// event kept: the values come from applications' requests, not from the agent's own arithmetic.
inline constexpr std::size_t kMaxDimensionValueBytes = 128;
inline constexpr std::size_t kMaxDimensionsPerEvent = 8;
inline constexpr std::size_t kMaxTagsPerEvent = 4;

struct DroppedAttribute {
  std::string attribute;  // the key as sent
  const char* reason;     // bad_name | not_a_string | empty | too_long | not_utf8 | nul_character | too_many
};

// Why a dimension or tag attribute breaks the bounds (nullptr when it keeps them, or is not one);
// `count_so_far` is how many of its family the record already keeps.
const char* dimension_problem(std::string_view key, const nlohmann::json& value, std::size_t count_so_far);

// Removes from `record` every shadowmeter.dimension.* / shadowmeter.tag.* attribute that breaks the
// bounds (past the per-event limits, the later ones in key order) and says which.
std::vector<DroppedAttribute> drop_bad_dimensions(nlohmann::json& record);

// nullopt: acceptable. Else why not, naming the attribute and echoing at most a short excerpt.
std::optional<std::string> check_record(const nlohmann::json& record);

}  // namespace shadowmeter::collector
