#include "storage/records.h"

#include <array>
#include <cmath>
#include <limits>
#include <string_view>

namespace shadowmeter::collector::records {
namespace {

using sql::Row;
using sql::Value;

enum class Kind : std::uint8_t {
  text,
  time,     // non-negative int64 (nanoseconds since the epoch)
  count,    // token count: 0..kMaxTokens
  integer,  // any int64
  boolean,  // 0/1
  money,    // finite, non-negative
};

struct Column {
  const char* name;
  Kind kind;
  const char* attribute;
  const char* former_attribute = nullptr;  // the name older agents send, read when the current one is absent
};

// The calls columns taken straight from one attribute each; the others (event id, time, arrival,
// workload, attributes) are filled in by call_values().
constexpr std::array kAttributeColumns = {
    Column{"end_time_unix_nano", Kind::time, "end_time_unix_nano"},
    Column{"host_name", Kind::text, "host.name"},
    Column{"provider", Kind::text, "gen_ai.provider.name"},
    Column{"operation", Kind::text, "gen_ai.operation.name"},
    Column{"request_model", Kind::text, "gen_ai.request.model"},
    Column{"response_model", Kind::text, "gen_ai.response.model"},
    Column{"input_tokens", Kind::count, "gen_ai.usage.input_tokens"},
    Column{"output_tokens", Kind::count, "gen_ai.usage.output_tokens"},
    Column{"cache_read_tokens", Kind::count, "gen_ai.usage.cache_read.input_tokens"},
    // OpenTelemetry renamed cache_creation to cache_write (2026); agents before that send the old name.
    Column{"cache_creation_tokens", Kind::count, "gen_ai.usage.cache_write.input_tokens",
           "gen_ai.usage.cache_creation.input_tokens"},
    Column{"reasoning_tokens", Kind::count, "gen_ai.usage.reasoning.output_tokens"},
    Column{"usage_source", Kind::text, "shadowmeter.usage.source"},
    Column{"stream", Kind::boolean, "shadowmeter.stream"},
    Column{"cost_usd", Kind::money, "shadowmeter.cost.usd"},
    Column{"pricing_source", Kind::text, "shadowmeter.cost.pricing_source"},
    Column{"server_address", Kind::text, "server.address"},
    Column{"status_code", Kind::integer, "http.response.status_code"},
    Column{"error_type", Kind::text, "error.type"},
    Column{"process_executable_name", Kind::text, "process.executable.name"},
    Column{"container_id", Kind::text, "container.id"},
    Column{"k8s_namespace", Kind::text, "k8s.namespace.name"},
    Column{"k8s_pod_name", Kind::text, "k8s.pod.name"},
    Column{"owner", Kind::text, "shadowmeter.owner"},
    Column{"environment", Kind::text, "deployment.environment"},
    Column{"shadow", Kind::boolean, "shadowmeter.shadow"},
    Column{"shadow_reason", Kind::text, "shadowmeter.shadow.reason"},
    Column{"visibility", Kind::text, "shadowmeter.visibility"},
    Column{"tls_library", Kind::text, "shadowmeter.tls.library"},
    Column{"api_key_fingerprint", Kind::text, "shadowmeter.api_key.fingerprint"},
    Column{"visibility_reason", Kind::text, "shadowmeter.visibility.reason"},
};

const nlohmann::json* find(const nlohmann::json& record, const char* key) {
  if (!record.is_object()) return nullptr;
  const auto it = record.find(key);
  return it == record.end() ? nullptr : &*it;
}

std::optional<std::int64_t> signed_int(const nlohmann::json& record, const char* key) {
  const nlohmann::json* v = find(record, key);
  if (v == nullptr) return std::nullopt;
  if (v->is_number_unsigned()) {
    const auto u = v->get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v->is_number_integer()) return v->get<std::int64_t>();
  return std::nullopt;
}

Value value_of(const nlohmann::json& record, const Column& c) {
  switch (c.kind) {
    case Kind::text:
      if (auto s = text(record, c.attribute)) return std::move(*s);
      return {};
    case Kind::time:
      if (auto t = unsigned_int(record, c.attribute)) return *t;
      return {};
    case Kind::count:
      if (auto n = unsigned_int(record, c.attribute); n && *n <= kMaxTokens) return *n;
      return {};
    case Kind::integer:
      if (auto n = signed_int(record, c.attribute)) return *n;
      return {};
    case Kind::boolean:
      if (const nlohmann::json* v = find(record, c.attribute); v != nullptr && v->is_boolean()) {
        return std::int64_t{v->get<bool>() ? 1 : 0};
      }
      return {};
    case Kind::money:
      if (const nlohmann::json* v = find(record, c.attribute); v != nullptr && v->is_number()) {
        const double d = v->get<double>();
        if (std::isfinite(d) && d >= 0) return d;
      }
      return {};
  }
  return {};
}

Value optional_text(const std::optional<std::string>& s) { return s ? Value(*s) : Value(); }

Value arrival_time(const Arrival& a) {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  return static_cast<std::int64_t>(a.received_unix_nano > kMax ? kMax : a.received_unix_nano);
}

// The owning workload travels as "k8s.<kind>.name" (k8s.deployment.name, k8s.cronjob.name, ...).
// Keys of that shape that name something else are skipped; with several workloads (a Deployment and
// its ReplicaSet), the outermost known kind wins.
std::pair<Value, Value> workload_of(const nlohmann::json& event) {
  static constexpr std::array<std::string_view, 5> kNotWorkloads = {"namespace", "pod", "container", "node",
                                                                    "cluster"};
  static constexpr std::array<std::string_view, 6> kPreference = {"deployment", "statefulset", "daemonset",
                                                                  "cronjob",    "job",         "replicaset"};
  if (!event.is_object()) return {};
  std::string best_kind;
  std::size_t best_rank = kPreference.size() + 1;
  for (const auto& [key, value] : event.items()) {
    const std::string_view k = key;
    if (k.size() <= 9 || k.substr(0, 4) != "k8s." || k.substr(k.size() - 5) != ".name") continue;
    const std::string_view kind = k.substr(4, k.size() - 9);
    if (kind.empty() || kind.find('.') != std::string_view::npos) continue;
    bool excluded = false;
    for (std::string_view n : kNotWorkloads) excluded = excluded || kind == n;
    if (excluded || !value.is_string()) continue;
    std::size_t rank = kPreference.size();
    for (std::size_t i = 0; i < kPreference.size(); ++i) {
      if (kind == kPreference[i]) rank = i;
    }
    if (rank < best_rank || (rank == best_rank && kind < best_kind)) {
      best_rank = rank;
      best_kind = std::string(kind);
    }
  }
  if (best_kind.empty()) return {};
  const std::string key = "k8s." + best_kind + ".name";
  auto name = text(event, key.c_str());
  if (!name || best_kind.size() > kMaxColumnText) return {};
  return {Value(best_kind), Value(std::move(*name))};
}

}  // namespace

bool valid_event_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> event_id_of(const nlohmann::json& record) {
  const nlohmann::json* v = find(record, "shadowmeter.event_id");
  if (v == nullptr || !v->is_string()) return std::nullopt;
  const auto& s = v->get_ref<const std::string&>();
  if (!valid_event_id(s)) return std::nullopt;
  return s;
}

std::optional<std::string> text(const nlohmann::json& record, const char* key) {
  const nlohmann::json* v = find(record, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  const auto& s = v->get_ref<const std::string&>();
  // PostgreSQL text cannot hold NUL; an empty string means "unknown" as in the agent's output.
  if (s.empty() || s.size() > kMaxColumnText || s.find('\0') != std::string::npos) return std::nullopt;
  return s;
}

std::optional<std::int64_t> unsigned_int(const nlohmann::json& record, const char* key) {
  const auto n = signed_int(record, key);
  if (!n || *n < 0) return std::nullopt;
  return n;
}

std::string attributes_json(const nlohmann::json& record) {
  return record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

Value principal_value(const Arrival& a) {
  if (a.principal.empty() || a.principal.size() > kMaxColumnText ||
      a.principal.find('\0') != std::string::npos) {
    return {};
  }
  return a.principal;
}

std::int64_t record_time(const nlohmann::json& record, const Arrival& arrival) {
  if (auto t = unsigned_int(record, "time_unix_nano")) return *t;
  return std::get<std::int64_t>(arrival_time(arrival));
}

const std::vector<std::string>& call_columns() {
  static const std::vector<std::string> columns = [] {
    std::vector<std::string> c = {"event_id",  "time_unix_nano",    "received_unix_nano",
                                  "principal", "k8s_workload_kind", "k8s_workload_name"};
    for (const Column& col : kAttributeColumns) c.emplace_back(col.name);
    c.emplace_back("attributes");
    return c;
  }();
  return columns;
}

Row call_values(const nlohmann::json& event, const std::string& event_id, const Arrival& arrival) {
  Row row;
  row.reserve(call_columns().size());
  row.emplace_back(event_id);
  row.emplace_back(record_time(event, arrival));
  row.push_back(arrival_time(arrival));
  row.push_back(principal_value(arrival));
  auto [kind, name] = workload_of(event);
  row.push_back(std::move(kind));
  row.push_back(std::move(name));
  for (const Column& col : kAttributeColumns) {
    Value v = value_of(event, col);
    if (v.index() == 0 && col.former_attribute != nullptr)
      v = value_of(event, Column{col.name, col.kind, col.former_attribute});
    row.push_back(std::move(v));
  }
  row.emplace_back(attributes_json(event));
  return row;
}

const std::vector<std::string>& heartbeat_columns() {
  static const std::vector<std::string> columns = {"event_id",           "host_name", "time_unix_nano",
                                                   "received_unix_nano", "principal", "agent_version",
                                                   "attributes"};
  return columns;
}

Row heartbeat_values(const nlohmann::json& record, const std::string& event_id, const Arrival& arrival) {
  return {event_id,
          optional_text(text(record, "host.name")),
          record_time(record, arrival),
          arrival_time(arrival),
          principal_value(arrival),
          optional_text(text(record, "shadowmeter.agent.version")),
          attributes_json(record)};
}

const std::vector<std::string>& gap_columns() {
  static const std::vector<std::string> columns = {
      "event_id",  "host_name",      "time_unix_nano", "end_time_unix_nano", "received_unix_nano",
      "principal", "dropped_events", "reason",         "attributes"};
  return columns;
}

Row gap_values(const nlohmann::json& record, const std::string& event_id, const Arrival& arrival) {
  // The dropped count is summed per agent: bounded like token counts so the sum cannot overflow.
  const Value end = value_of(record, Column{"end_time_unix_nano", Kind::time, "end_time_unix_nano"});
  const Value dropped =
      value_of(record, Column{"dropped_events", Kind::count, "shadowmeter.gap.dropped_events"});
  return {event_id,
          optional_text(text(record, "host.name")),
          record_time(record, arrival),
          end,
          arrival_time(arrival),
          principal_value(arrival),
          dropped,
          optional_text(text(record, "shadowmeter.gap.reason")),
          attributes_json(record)};
}

}  // namespace shadowmeter::collector::records
