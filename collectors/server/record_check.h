// What the collector accepts in one decoded record (usage event, heartbeat, gap) before anything is
// queued: the attributes the store and the reports compute with must have their type and a range
// whose sums cannot overflow, and no string may hold a NUL character (PostgreSQL text and jsonb cannot
// store one). A record that breaks a rule refuses its whole request with a 400 naming the attribute:
// an impossible value is the sender's bug, and storing it would poison every report that sums it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

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

// nullopt: acceptable. Else why not, naming the attribute and echoing at most a short excerpt.
std::optional<std::string> check_record(const nlohmann::json& record);

}  // namespace shadowmeter::collector
