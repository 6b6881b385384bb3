#include "storage/pg_call_insert.h"

#include <time.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>

namespace shadowmeter::collector::sql {
namespace {

constexpr std::int64_t kDayNs = 86400LL * 1000000000LL;
// Serialises partition creation between collectors sharing the database ("shmpart" in ASCII).
constexpr std::int64_t kPartitionLockKey = 0x73686d70617274;
constexpr const char* kStaging = "calls_staging";

std::int64_t today() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() /
         kDayNs;
}

std::size_t column_index(const std::vector<std::string>& columns, const char* name) {
  const auto it = std::find(columns.begin(), columns.end(), name);
  if (it == columns.end()) throw StoreError(std::string("pg_insert_new_calls: no column ") + name);
  return static_cast<std::size_t>(it - columns.begin());
}

std::string joined(const std::vector<std::string>& columns) {
  std::string out;
  for (const std::string& c : columns) out += (out.empty() ? "" : ", ") + c;
  return out;
}

// A scan of pg_class (a fresh snapshot), not to_regclass(): the backend's catalog cache may not have
// seen yet a table another collector created while we waited for the lock.
bool partition_exists(Connection& c, const std::string& name) {
  const auto rows = c.query(
      "SELECT COUNT(*) FROM pg_class WHERE relname = ? AND relnamespace = current_schema()::regnamespace",
      {name});
  return !rows.empty() && !rows[0].empty() && as_int(rows[0][0]).value_or(0) == 1;
}

// The day of "calls_pYYYYMMDD", or nullopt for any other name.
std::optional<std::int64_t> day_of_partition(const std::string& name) {
  constexpr std::string_view kPrefix = "calls_p";
  if (name.size() != kPrefix.size() + 8 || name.compare(0, kPrefix.size(), kPrefix) != 0) return std::nullopt;
  int ymd = 0;
  const char* digits = name.data() + kPrefix.size();
  const auto res = std::from_chars(digits, digits + 8, ymd);
  if (res.ec != std::errc() || res.ptr != digits + 8) return std::nullopt;
  std::tm tm{};
  tm.tm_year = ymd / 10000 - 1900;
  tm.tm_mon = ymd / 100 % 100 - 1;
  tm.tm_mday = ymd % 100;
  const time_t t = timegm(&tm);
  if (t < 0) return std::nullopt;
  return static_cast<std::int64_t>(t) / 86400;
}

}  // namespace

std::string partition_name(std::int64_t day) {
  const auto secs = static_cast<time_t>(day * 86400);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "calls_p%Y%m%d", &tm);
  return buf;
}

void pg_ensure_day_partition(Connection& c, std::int64_t day) {
  const std::string name = partition_name(day);
  c.query("SELECT pg_advisory_xact_lock(?)", {kPartitionLockKey});
  if (partition_exists(c, name)) return;  // another collector made it while we waited
  const std::string from = std::to_string(day * kDayNs);
  const std::string to = std::to_string((day + 1) * kDayNs);
  // Created detached, filled with the rows calls_default holds for that day, then attached: attaching
  // takes a lock that lets inserts and reads of other days go on (CREATE ... PARTITION OF would block them).
  c.execute("CREATE TABLE " + name + " (LIKE calls INCLUDING DEFAULTS)");
  c.execute("WITH moved AS (DELETE FROM calls_default WHERE time_unix_nano >= " + from +
            " AND time_unix_nano < " + to + " RETURNING *) INSERT INTO " + name + " SELECT * FROM moved");
  c.execute("ALTER TABLE " + name + " ADD CONSTRAINT " + name + "_day CHECK (time_unix_nano >= " + from +
            " AND time_unix_nano < " + to + ")");
  c.execute("ALTER TABLE calls ATTACH PARTITION " + name + " FOR VALUES FROM (" + from + ") TO (" + to + ")");
}

void append_copy_value(std::string& out, const Value& v) {
  if (const auto* i = std::get_if<std::int64_t>(&v)) {
    char buf[24];
    const auto res = std::to_chars(buf, buf + sizeof(buf), *i);
    out.append(buf, res.ptr);
  } else if (const auto* d = std::get_if<double>(&v)) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof(buf), *d);  // shortest exact form
    out.append(buf, res.ptr);
  } else if (const auto* s = std::get_if<std::string>(&v)) {
    for (const char ch : *s) {
      switch (ch) {
        case '\\':
          out += "\\\\";
          break;
        case '\t':
          out += "\\t";
          break;
        case '\n':
          out += "\\n";
          break;
        case '\r':
          out += "\\r";
          break;
        default:
          out += ch;
      }
    }
  } else {
    out += "\\N";
  }
}

std::vector<std::size_t> pg_insert_new_calls(Connection& c, const std::vector<std::string>& columns,
                                             std::vector<Row>& rows) {
  if (rows.empty()) return {};
  const std::size_t id_at = column_index(columns, "event_id");
  const std::size_t time_at = column_index(columns, "time_unix_nano");

  // The days the rows need, then their partitions (far-off times land in calls_default).
  std::set<std::int64_t> days;
  for (const Row& r : rows) days.insert(as_int(r.at(time_at)).value_or(0) / kDayNs);
  const std::int64_t now_day = today();
  for (const std::int64_t day : days) {
    if (day < now_day - kPartitionDaysBack || day > now_day + kPartitionDaysAhead) continue;
    if (c.known_partition_days().contains(day)) continue;
    if (partition_exists(c, partition_name(day))) {
      c.known_partition_days().insert(day);
    } else {
      pg_ensure_day_partition(c, day);
    }
  }

  // Which input row each (event_id, time) key is: the first of duplicates within the batch.
  std::unordered_map<std::string, std::size_t> index_of;
  index_of.reserve(rows.size());
  std::string data;
  data.reserve(rows.size() * 2048);  // one allocation for a typical batch (events are ~1.5 kB)
  for (std::size_t i = 0; i < rows.size(); ++i) {
    Row& r = rows[i];
    if (r.size() != columns.size()) throw StoreError("pg_insert_new_calls: a row does not match its columns");
    index_of.try_emplace(
        as_text(r[id_at]).value_or("") + '\t' + std::to_string(as_int(r[time_at]).value_or(0)), i);
    for (std::size_t col = 0; col < r.size(); ++col) {
      if (col != 0) data += '\t';
      append_copy_value(data, r[col]);
    }
    data += '\n';
    r.clear();
  }

  const std::string list = joined(columns);
  // Session-local. Emptied by the INSERT below, so that a transaction holding several batches reuses it,
  // and truncated at commit: temporary tables are never vacuumed, and the deleted rows would pile up.
  c.execute(std::string("CREATE TEMP TABLE IF NOT EXISTS ") + kStaging +
            " (LIKE calls INCLUDING DEFAULTS) ON COMMIT DELETE ROWS");
  c.copy_in(std::string("COPY ") + kStaging + " (" + list + ") FROM STDIN", data);
  // Prepared: parsing and planning it against every partition was a sixth of the server's time.
  const auto inserted =
      c.query_prepared("shadowmeter_insert_staged_calls",
                       std::string("WITH staged AS (DELETE FROM ") + kStaging + " RETURNING " + list +
                           ") INSERT INTO calls (" + list + ") SELECT " + list +
                           " FROM staged ON CONFLICT (event_id, time_unix_nano) DO NOTHING "
                           "RETURNING event_id, time_unix_nano");

  std::vector<std::size_t> fresh;
  fresh.reserve(inserted.size());
  for (const Row& r : inserted) {
    const auto it =
        index_of.find(as_text(r[0]).value_or("") + '\t' + std::to_string(as_int(r[1]).value_or(0)));
    if (it == index_of.end())
      throw StoreError("pg_insert_new_calls: the database returned an event id not sent");
    fresh.push_back(it->second);
  }
  std::sort(fresh.begin(), fresh.end());
  return fresh;
}

std::uint64_t pg_drop_expired_partitions(Connection& c, std::uint64_t cutoff_unix_nano) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  const auto cutoff = static_cast<std::int64_t>(std::min(cutoff_unix_nano, kMax));
  const std::int64_t first_kept_day = cutoff / kDayNs;  // days before it end at or before the cutoff
  std::uint64_t removed = 0;
  const auto partitions = c.query(
      "SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhrelid "
      "WHERE i.inhparent = 'calls'::regclass ORDER BY p.relname");
  for (const Row& r : partitions) {
    const std::string name = as_text(r.at(0)).value_or("");
    const auto day = day_of_partition(name);
    if (!day || *day >= first_kept_day) continue;
    const auto count = c.query("SELECT COUNT(*) FROM " + name);
    removed += static_cast<std::uint64_t>(count.empty() ? 0 : as_int(count[0][0]).value_or(0));
    c.execute("DROP TABLE " + name);
  }
  auto& known = c.known_partition_days();
  known.erase(known.begin(), known.lower_bound(first_kept_day));
  // What is left before the cutoff: the expired part of the cutoff's own day, and calls_default's rows.
  removed += c.execute("DELETE FROM calls WHERE time_unix_nano < ?", {cutoff});
  return removed;
}

}  // namespace shadowmeter::collector::sql
