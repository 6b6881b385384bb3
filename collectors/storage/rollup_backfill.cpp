#include "storage/rollup_backfill.h"

#include <time.h>

#include "storage/records.h"
#include "storage/rollups.h"

namespace shadowmeter::collector::sql {
namespace {

constexpr std::int64_t kPage = 5000;

std::string select_calls() {
  std::string cols;
  for (const std::string& c : records::call_columns()) cols += (cols.empty() ? "" : ", ") + c;
  return "SELECT " + cols + " FROM calls";
}

void backfill_raw(Connection& c) {
  const std::string base = select_calls();
  const auto& columns = records::call_columns();
  const std::size_t attributes = columns.size() - 1;
  std::optional<std::pair<std::int64_t, std::string>> after;
  rollups::Accumulator acc;
  for (;;) {
    std::vector<Value> params;
    std::string sql = base;
    if (after) {
      sql += " WHERE (time_unix_nano, event_id) > (?, ?)";
      params = {after->first, after->second};
    }
    sql += " ORDER BY time_unix_nano, event_id LIMIT ?";
    params.emplace_back(kPage);
    const std::vector<Row> rows = c.query(sql, params);
    for (const Row& r : rows) {
      const auto text = as_text(r.at(attributes));
      nlohmann::json event = text ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
      if (event.is_discarded()) event = nlohmann::json::object();
      acc.add(rollups::fact_of(r, event));
    }
    acc.flush(c);
    if (rows.size() < static_cast<std::size_t>(kPage)) break;
    after = {as_int(rows.back()[1]).value_or(0), as_text(rows.back()[0]).value_or("")};
  }
}

std::int64_t day_start(const std::string& day) {
  std::tm tm{};
  if (day.size() != 10 || strptime(day.c_str(), "%Y-%m-%d", &tm) == nullptr) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000000000;
}

// The old table had the day, node, provider, request model, namespace, owner, usage source,
// visibility and shadow verdict; a connection_only row's "calls" were connections.
void backfill_old_daily(Connection& c) {
  const auto rows = c.query(
      "SELECT day, host_name, provider, request_model, k8s_namespace, owner, usage_source, visibility, shadow, "
      "calls, input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens, reasoning_tokens, cost_usd, "
      "priced_calls FROM daily_rollups");
  rollups::Accumulator acc;
  for (const Row& r : rows) {
    rollups::Fact f;
    f.time = day_start(as_text(r[0]).value_or(""));
    auto text = [&r](std::size_t i) { return as_text(r[i]).value_or(""); };
    f.key.text[rollups::host_name] = text(1);
    f.key.text[rollups::provider] = text(2);
    f.key.text[rollups::model] = text(3);
    f.key.text[rollups::k8s_namespace] = text(4);
    f.key.text[rollups::owner] = text(5);
    f.key.text[rollups::usage_source] = text(6);
    f.key.text[rollups::visibility] = text(7);
    f.key.shadow = as_int(r[8]).value_or(-1);
    rollups::Sums& s = f.sums;
    const std::int64_t calls = as_int(r[9]).value_or(0);
    const bool blind = f.key.text[rollups::visibility] == "connection_only";
    s.calls = blind ? 0 : calls;
    s.connections = blind ? calls : 0;
    s.legacy_calls = s.calls;
    s.input_tokens = as_int(r[10]).value_or(0);
    s.output_tokens = as_int(r[11]).value_or(0);
    s.cache_read_tokens = as_int(r[12]).value_or(0);
    s.cache_creation_tokens = as_int(r[13]).value_or(0);
    s.reasoning_tokens = as_int(r[14]).value_or(0);
    s.cost_usd = as_double(r[15]).value_or(0);
    s.priced_calls = as_int(r[16]).value_or(0);
    // Tokens of priced calls were not kept: all when every call was priced, else apportioned by calls
    // (what the reports did with these rows before).
    const std::int64_t tokens = s.input_tokens + s.output_tokens;
    s.priced_tokens = s.priced_calls == calls ? tokens : (calls > 0 ? tokens * s.priced_calls / calls : 0);
    s.first_seen = s.last_seen = f.time;
    acc.add(f);
  }
  acc.flush(c);
}

}  // namespace

void backfill_rollups(Connection& c) {
  // Re-run over tables that already have rollups (a migration whose version record was lost): the raw
  // rows are in them already, and adding them again would count them twice.
  const auto have = c.query("SELECT COUNT(*) FROM (SELECT 1 FROM rollups_daily LIMIT 1) x");
  if (have.empty() || as_int(have[0][0]).value_or(0) == 0) backfill_raw(c);
  // The old table is gone already when only this step's version record was lost.
  const auto old = c.query(c.dialect() == Dialect::postgresql
                               ? "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = "
                                 "current_schema() AND table_name = 'daily_rollups'"
                               : "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'daily_rollups'");
  if (old.empty() || as_int(old[0][0]).value_or(0) == 0) return;
  backfill_old_daily(c);
  c.execute("DROP TABLE daily_rollups");
}

}  // namespace shadowmeter::collector::sql
