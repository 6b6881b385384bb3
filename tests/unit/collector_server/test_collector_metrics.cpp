// The collector's per-owner / provider / model usage metrics: what is counted (newly stored calls only),
// the labels and their fallbacks, bounded cardinality and label length.
#include <catch2/catch.hpp>
#include <sstream>
#include <string>

#include "server/collector_metrics.h"

using nlohmann::json;
using shadowmeter::collector::CollectorMetrics;
using shadowmeter::collector::IngestBatch;
using shadowmeter::collector::IngestResult;

namespace {

// The value of one series in the exposition text ("name{labels}" exactly as serialised), or -1.
double series(const CollectorMetrics& m, const std::string& name_and_labels) {
  std::istringstream in(m.serialize());
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name_and_labels + " ", 0) == 0) return std::stod(line.substr(name_and_labels.size() + 1));
  return -1;
}

std::size_t series_count(const CollectorMetrics& m, const std::string& name) {
  std::istringstream in(m.serialize());
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);)
    if (line.rfind(name + "{", 0) == 0) ++n;
  return n;
}

json call(const std::string& owner, double cost, std::uint64_t in_tokens = 100) {
  json c = {{"shadowmeter.event_id", "e"},
            {"gen_ai.provider.name", "openai"},
            {"gen_ai.request.model", "gpt-4o"},
            {"gen_ai.response.model", "gpt-4o-2024-08-06"},
            {"gen_ai.usage.input_tokens", in_tokens},
            {"gen_ai.usage.output_tokens", 20},
            {"gen_ai.usage.cache_read.input_tokens", 40},
            {"shadowmeter.usage.source", "response"},
            {"shadowmeter.visibility", "plaintext"},
            {"shadowmeter.shadow", true},
            {"shadowmeter.cost.usd", cost}};
  if (!owner.empty()) c["shadowmeter.owner"] = owner;
  return c;
}

void commit(CollectorMetrics& m, const IngestBatch& b, IngestResult r) { m.committed({&b}, {r}, 0.001); }

IngestResult all_new(const IngestBatch& b) {
  IngestResult r;
  r.inserted = b.calls.size();
  return r;
}

}  // namespace

TEST_CASE("new calls are counted by owner, provider, model, shadow; tokens by type; estimated cost") {
  CollectorMetrics m;
  IngestBatch b;
  b.calls = {call("team-a", 0.25), call("team-a", 0.5, 300), call("", 1.0)};
  b.calls[2].erase("gen_ai.response.model");
  b.calls[2]["shadowmeter.shadow"] = false;
  commit(m, b, all_new(b));

  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",shadow="true"})") ==
      2);
  // No owner: "unallocated"; no response model: the request model.
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="gpt-4o",owner="unallocated",provider="openai",shadow="false"})") ==
      1);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",type="input"})") ==
      400);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",type="output"})") ==
      40);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",type="cache_read"})") ==
      80);
  // A type never reported gets no series.
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",type="reasoning"})") ==
      -1);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_cost_usd_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai"})") ==
      Approx(0.75));
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_cost_usd_total{model="gpt-4o",owner="unallocated",provider="openai"})") ==
      1.0);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_by_visibility_total{usage_source="response",visibility="plaintext"})") ==
      3);
  CHECK(series(m, "shadowmeter_collector_metric_skipped_events_total") == 0);
}

TEST_CASE("missing attributes fall back; unpriced calls and bad costs") {
  CollectorMetrics m;
  IngestBatch b;
  b.calls = {json{{"shadowmeter.event_id", "x"}},
             json{{"shadowmeter.event_id", "y"},
                  {"gen_ai.provider.name", "anthropic"},
                  {"shadowmeter.cost.usd", -5.0}},
             json{{"shadowmeter.event_id", "z"},
                  {"gen_ai.provider.name", "anthropic"},
                  {"shadowmeter.cost.usd", "12"}}};
  commit(m, b, all_new(b));
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="unknown",owner="unallocated",provider="unknown",shadow="unknown"})") ==
      1);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_by_visibility_total{usage_source="unknown",visibility="unknown"})") ==
      3);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="unknown",owner="unallocated",provider="anthropic",shadow="unknown"})") ==
      2);
  // A negative or mistyped cost is not counted (a counter never goes down).
  CHECK(series_count(m, "shadowmeter_collector_ai_cost_usd_total") == 0);
}

TEST_CASE("blind connections are counted as connections with their bytes, never as calls or tokens") {
  CollectorMetrics m;
  IngestBatch b;
  const json blind = {{"shadowmeter.event_id", "c"},
                      {"gen_ai.provider.name", "openai"},
                      {"shadowmeter.visibility", "connection_only"},
                      {"shadowmeter.connection.count", 1},
                      {"shadowmeter.tls.library", "java"},
                      {"shadowmeter.connection.bytes_sent", 1500},
                      {"shadowmeter.connection.bytes_received", 7000}};
  b.calls = {blind, blind, call("team-a", 1.0)};
  commit(m, b, all_new(b));
  CHECK(series(m, R"(shadowmeter_collector_blind_connections_total{provider="openai",tls_library="java"})") == 2);
  CHECK(series(m, R"(shadowmeter_collector_blind_connection_bytes_total{direction="sent"})") == 3000);
  CHECK(series(m, R"(shadowmeter_collector_blind_connection_bytes_total{direction="received"})") == 14000);
  CHECK(series_count(m, "shadowmeter_collector_ai_calls_total") == 1);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",shadow="true"})") ==
      1);
  CHECK(series_count(m, "shadowmeter_collector_ai_calls_by_visibility_total") == 1);
}

TEST_CASE("cache writes are counted under type cache_write, from the current and the former attribute name") {
  CollectorMetrics m;
  IngestBatch b;
  json current = call("team-a", 1.0);
  current["gen_ai.usage.cache_write.input_tokens"] = 30;
  json former = call("team-a", 1.0);
  former["gen_ai.usage.cache_creation.input_tokens"] = 12;
  b.calls = {current, former};
  commit(m, b, all_new(b));
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",type="cache_write"})") ==
      42);
}

TEST_CASE("redeliveries are not counted twice; in a mixed batch only the new calls count") {
  CollectorMetrics m;
  IngestBatch b;
  b.calls = {call("team-a", 1.0), call("team-a", 1.0)};
  commit(m, b, all_new(b));
  // The same batch again: nothing new.
  IngestResult dup;
  dup.duplicates = 2;
  commit(m, b, dup);
  const std::string calls =
      R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner="team-a",provider="openai",shadow="true"})";
  CHECK(series(m, calls) == 2);
  CHECK(series(m, "shadowmeter_collector_metric_skipped_events_total") == 0);
  // One new, one redelivered, the store saying which: only the new one is counted.
  IngestResult known;
  known.inserted = 1;
  known.duplicates = 1;
  known.new_calls = {1};
  commit(m, b, known);
  CHECK(series(m, calls) == 3);
  // A result that does not say which were new: neither is counted, and the new one is reported as skipped.
  IngestResult mixed;
  mixed.inserted = 1;
  mixed.duplicates = 1;
  commit(m, b, mixed);
  CHECK(series(m, calls) == 3);
  CHECK(series(m, "shadowmeter_collector_metric_skipped_events_total") == 1);
  CHECK(series(m, "shadowmeter_collector_ingested_events_total") == 4);
  // Invalid records beside new calls: same rule.
  IngestResult invalid;
  invalid.inserted = 1;
  invalid.invalid = 1;
  commit(m, b, invalid);
  CHECK(series(m, calls) == 3);
  CHECK(series(m, "shadowmeter_collector_metric_skipped_events_total") == 2);
}

TEST_CASE("label values are valid UTF-8 of at most 128 bytes") {
  CollectorMetrics m;
  IngestBatch b;
  std::string owner(126, 'a');
  owner += "\xC3\xA9\xC3\xA9";  // 130 bytes: the second é would cross the limit
  b.calls = {call(owner, 0.1), call(std::string("bad\xFF\"\\\n", 7), 0.1)};
  commit(m, b, all_new(b));
  const std::string cut = std::string(126, 'a') + "\xC3\xA9";
  CHECK(series(m, R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner=")" + cut +
                      R"(",provider="openai",shadow="true"})") == 1);
  // Invalid bytes become '?'; quote, backslash and newline are escaped by the exposition format.
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner="bad?\"\\\n",provider="openai",shadow="true"})") ==
      1);
}

TEST_CASE("at most kMaxLabelSets label sets per family; the rest under _other, counted") {
  CollectorMetrics m;
  IngestBatch b;
  const std::size_t n = CollectorMetrics::kMaxLabelSets + 3;
  for (std::size_t i = 0; i < n; ++i) b.calls.push_back(call("owner-" + std::to_string(i), 0.5));
  commit(m, b, all_new(b));
  CHECK(series_count(m, "shadowmeter_collector_ai_calls_total") == CollectorMetrics::kMaxLabelSets + 1);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="_other",owner="_other",provider="_other",shadow="true"})") ==
      3);
  CHECK(
      series(m,
             R"(shadowmeter_collector_ai_cost_usd_total{model="_other",owner="_other",provider="_other"})") ==
      1.5);
  CHECK(series(m, R"(shadowmeter_collector_metric_label_overflow_total{family="ai_calls"})") == 3);
  CHECK(series(m, R"(shadowmeter_collector_metric_label_overflow_total{family="ai_cost_usd"})") == 3);
  // Tokens: 3 types per owner, so the family fills after 5000/3 owners; the type label is kept.
  CHECK(series_count(m, "shadowmeter_collector_ai_tokens_total") == CollectorMetrics::kMaxLabelSets + 3);
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_tokens_total{model="_other",owner="_other",provider="_other",type="output"})") >
      0);
  // Known label sets keep counting after the limit.
  IngestBatch again;
  again.calls = {call("owner-0", 0.5)};
  commit(m, again, all_new(again));
  CHECK(
      series(
          m,
          R"(shadowmeter_collector_ai_calls_total{model="gpt-4o-2024-08-06",owner="owner-0",provider="openai",shadow="true"})") ==
      2);
  // HELP text says what is counted.
  const std::string text = m.serialize();
  CHECK(text.find("# HELP shadowmeter_collector_ai_cost_usd_total Estimated list-price cost") !=
        std::string::npos);
  CHECK(text.find("# HELP shadowmeter_collector_metric_skipped_events_total") != std::string::npos);
}
