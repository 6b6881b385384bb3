#include "reports/focus.h"

#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <stdexcept>

#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

using nlohmann::json;

// Decimal text without exponent, trailing zeros trimmed ("0.0125", "3").
std::string decimal(double v, int places) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", places, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  return s == "-0" ? "0" : s;
}

// Nano-dollars as decimal text ("0.000012345").
std::string nano_usd(std::int64_t n) { return decimal(static_cast<double>(n) / 1e9, 9); }

json or_null(const json& v) { return v.is_string() ? v : json(nullptr); }

// One token kind of a group: its SKU suffix, SkuMeter and x_TokenType.
struct TokenKind {
  const char* sku;
  const char* meter;
};
constexpr std::array<TokenKind, 5> kKinds = {{{"input", "Input Tokens"},
                                              {"cache_read", "Cache Read Input Tokens"},
                                              {"cache_write", "Cache Write Input Tokens"},
                                              {"output", "Output Tokens"},
                                              {"reasoning", "Reasoning Output Tokens"}}};

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

bool all_digits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return !s.empty();
}

// The group's facts in the order the statement selects them.
std::string statement_of(sql::Dialect d, const ReportQuery& q, std::vector<sql::Value>& params) {
  SqlText s;
  s << "SELECT " << day_bucket(d, "t")
    << ", d_provider, d_model, d_owner, d_namespace, d_workload, d_key, d_dimensions, " << metric_select() << ", "
    << distinct_list(d, "pricing_source") << ", " << distinct_list(d, "usage_source")
    << ", COALESCE(SUM(rolled_up_calls), 0), " << distinct_list(d, "d_environment") << " FROM "
    << facts(d, q.from_unix_nano, q.to_unix_nano, q.owner)
    // Blind connections are no calls and cost nothing known: no charge row.
    << " GROUP BY 1, 2, 3, 4, 5, 6, 7, 8 HAVING SUM(calls) > 0 ORDER BY 1";
  for (const char* c : {"d_provider", "d_model", "d_owner", "d_namespace", "d_workload", "d_key", "d_dimensions"})
    s << ", " << nulls_last(c);
  params = std::move(s.params);
  return s.text;
}

// The rows of one group (one per token kind with tokens; one "Requests" row when it has none).
void group_rows(const sql::Row& r, const std::function<void(const json& row)>& emit) {
  const std::string day = sql::as_text(r[0]).value_or("1970-01-01");
  const std::uint64_t day_ns = day_start(day);
  const json provider = text_or_null(r[1]), model = text_or_null(r[2]), owner = text_or_null(r[3]),
             ns = text_or_null(r[4]), workload = text_or_null(r[5]), key = text_or_null(r[6]),
             dimensions = text_or_null(r[7]);
  const Metrics m = read_metrics(r, 8);
  const std::size_t at = 8 + kMetricColumns;
  const json pricing_sources = split_list(r[at]);
  const json usage_sources = split_list(r[at + 1]);
  const std::int64_t rolled_up = int_of(r[at + 2]);
  const json environments = split_list(r[at + 3]);

  const std::string provider_name = provider.is_string() ? provider.get<std::string>() : "unknown";
  const std::string model_name = model.is_string() ? model.get<std::string>() : "unknown";
  const ModelIdentity identity = model_identity(provider_name, model.is_string() ? model_name : "");
  const std::string key_text = key.is_string() ? key.get<std::string>() : "";
  std::string sources;
  for (const auto& p : pricing_sources) sources += (sources.empty() ? "" : ";") + p.get<std::string>();
  std::string usage;
  for (const auto& u : usage_sources) usage += (usage.empty() ? "" : ";") + u.get<std::string>();

  // FOCUS Tags: the custom dimensions are the user-defined tags (FOCUS: a provider's only user-defined
  // scheme is not prefixed); what shadowmeter derives itself is provider-defined, under "shadowmeter/".
  json tags = json::object();
  if (dimensions.is_string()) {
    const json d = json::parse(dimensions.get<std::string>(), nullptr, false);
    if (d.is_object())
      for (const auto& [k, v] : d.items())
        if (v.is_string()) tags[k] = v;
  }
  if (owner.is_string()) tags["shadowmeter/owner"] = owner;
  if (ns.is_string()) tags["shadowmeter/namespace"] = ns;
  if (workload.is_string()) tags["shadowmeter/workload"] = workload;
  if (model.is_string()) tags["shadowmeter/model"] = model;
  if (environments.size() == 1) tags["shadowmeter/environment"] = environments[0];
  const std::string tags_text = tags.dump(-1, ' ', false, json::error_handler_t::replace);

  std::string resource_id = ns.is_string() ? ns.get<std::string>() + "/" : std::string();
  resource_id += workload.is_string() ? workload.get<std::string>() : std::string("unattributed");
  const bool k8s = workload.is_string() && workload.get<std::string>().find('/') != std::string::npos;
  const std::string description =
      "Estimated list-price cost (not an invoice) of " + std::to_string(m.calls) + " " + provider_name + " " +
      model_name + " calls observed by shadowmeter" +
      (m.priced_calls < m.calls ? "; " + std::to_string(m.calls - m.priced_calls) + " calls had no price" : "");

  // Disjoint parts: input includes cache reads and writes, output includes reasoning (docs/events.md).
  const std::int64_t cache_read = std::max<std::int64_t>(0, m.cache_read_tokens);
  const std::int64_t cache_write = std::max<std::int64_t>(0, m.cache_creation_tokens);
  const std::int64_t reasoning = std::max<std::int64_t>(0, m.reasoning_tokens);
  const std::array<std::int64_t, 5> tokens = {std::max<std::int64_t>(0, m.input_tokens - cache_read - cache_write),
                                              cache_read, cache_write,
                                              std::max<std::int64_t>(0, m.output_tokens - reasoning), reasoning};
  long double total = 0;
  for (std::int64_t t : tokens) total += static_cast<long double>(t);
  const auto cost_n = static_cast<std::int64_t>(std::llround(money(m.cost_usd) * 1e9));

  std::int64_t assigned = 0;
  bool first = true;
  std::size_t last_kind = 0;
  for (std::size_t k = 0; k < kKinds.size(); ++k)
    if (tokens[k] > 0) last_kind = k;
  const auto emit_row = [&](const std::string& sku, const json& meter, const json& token_type,
                            std::int64_t quantity, const char* consumed_unit, const json& pricing_quantity,
                            const char* pricing_unit, std::int64_t part_n) {
    const std::string cost = nano_usd(part_n);
    json details = {{"x_ModelDeveloper", identity.developer},
                    {"x_ModelFamily", identity.family},
                    {"x_ModelId", identity.id}};
    if (!identity.version.empty()) details["x_ModelVersion"] = identity.version;
    if (token_type.is_string()) details["x_TokenType"] = token_type;
    json row = json::array({
        cost, cost, cost, cost,                                                                // Billed..Contracted
        provider_name + ":" + (key_text.empty() ? "unknown-key" : key_text),                   // BillingAccountId
        provider_name + (key_text.empty() ? " (API key unknown)" : " API key " + key_text),    // ...Name
        "USD", rfc3339(month_start(day_ns)), rfc3339(next_month_start(day_ns)),                // currency, period
        "Usage", nullptr, description,                                                         // ChargeCategory..
        rfc3339(day_ns), rfc3339(day_ns + kDayNs),                                             // ChargePeriod
        provider_name, provider_name, identity.developer,                                      // issuer, provider, pub.
        pricing_quantity, pricing_unit,                                                        // PricingQuantity, Unit
        kFocusServiceCategory, provider_name + " API",                                         // ServiceCategory, Name
        provider_name, provider_name,                                                          // ServiceProvider, Host
        "Usage-Based", "Standard", "Generative AI",                                            // Frequency, PricingCat.
        std::to_string(quantity), consumed_unit,                                               // Consumed
        sku, sku + "/list", meter, details.dump(-1, ' ', false, json::error_handler_t::replace),  // Sku*
        resource_id, workload.is_string() ? workload : json(resource_id),                     // ResourceId, Name
        k8s ? "Kubernetes Workload" : (workload.is_string() ? "Process" : "Unattributed"),
        tags_text,                                                                             // Tags
        "true", "tokens", sources.empty() ? "unpriced" : sources, usage.empty() ? json(nullptr) : json(usage),
        or_null(owner), or_null(ns), or_null(workload), or_null(key), or_null(model), token_type,
        // The group's call counts on its first row only, so that the column adds up to the calls.
        std::to_string(first ? m.calls : 0), std::to_string(first ? m.priced_calls : 0),
        std::to_string(first ? rolled_up : 0),
    });
    if (row.size() != focus_columns().size()) throw std::logic_error("focus: row and columns differ");
    first = false;
    emit(row);
  };

  const std::string sku_base = provider_name + "/" + model_name + "/";
  if (total == 0) {  // calls without token counts: the cost is charged per request
    emit_row(sku_base + "requests", "Requests", nullptr, m.calls, "Requests", std::to_string(m.calls), "Requests",
             cost_n);
    return;
  }
  for (std::size_t k = 0; k < kKinds.size(); ++k) {
    if (tokens[k] <= 0) continue;
    // Shares rounded down; the last kind takes the remainder, so the parts add up to the estimate.
    const std::int64_t part =
        k == last_kind ? cost_n - assigned
                       : static_cast<std::int64_t>(static_cast<long double>(cost_n) * tokens[k] / total);
    assigned += part;
    emit_row(sku_base + kKinds[k].sku, kKinds[k].meter, kKinds[k].sku, tokens[k], kFocusConsumedUnit,
             decimal(static_cast<double>(tokens[k]) / 1e6, 6), kFocusPricingUnit, part);
  }
}

}  // namespace

ModelIdentity model_identity(std::string_view provider, std::string_view model) {
  ModelIdentity id;
  id.id = model.empty() ? "unknown" : std::string(model);
  std::string_view name = model;
  // Bedrock ids name their developer: "anthropic.claude-3-5-sonnet-20240620-v1:0", "us.meta.llama3...".
  const auto dot = name.find('.');
  std::string developer;
  if (dot != std::string_view::npos && dot > 0 && name.find('/') == std::string_view::npos) {
    std::string_view vendor = name.substr(0, dot);
    std::string_view rest = name.substr(dot + 1);
    if ((vendor == "us" || vendor == "eu" || vendor == "apac" || vendor == "global") &&
        rest.find('.') != std::string_view::npos) {
      vendor = rest.substr(0, rest.find('.'));
      rest = rest.substr(rest.find('.') + 1);
    }
    bool alpha = !vendor.empty();
    for (char c : vendor) alpha = alpha && std::isalpha(static_cast<unsigned char>(c));
    if (alpha && !rest.empty() && !std::isdigit(static_cast<unsigned char>(rest.front()))) {
      developer = vendor;
      name = rest;
    }
  }
  if (developer.empty()) {
    if (starts_with(name, "gpt-") || starts_with(name, "o1") || starts_with(name, "o3") || starts_with(name, "o4") ||
        starts_with(name, "text-embedding") || starts_with(name, "whisper") || starts_with(name, "dall-e") ||
        starts_with(name, "tts-") || starts_with(name, "chatgpt"))
      developer = "openai";
    else if (starts_with(name, "claude"))
      developer = "anthropic";
    else if (starts_with(name, "gemini") || starts_with(name, "gemma") || starts_with(name, "text-bison"))
      developer = "google";
    else if (starts_with(name, "llama") || starts_with(name, "meta-llama"))
      developer = "meta";
    else if (starts_with(name, "mistral") || starts_with(name, "mixtral") || starts_with(name, "codestral"))
      developer = "mistral";
    else if (starts_with(name, "command") || starts_with(name, "embed-"))
      developer = "cohere";
    else
      developer = provider.empty() ? "unknown" : std::string(provider);
  }
  id.developer = developer;
  // A date version at the end: "-2024-07-18", "-20240620" (then maybe "-v1:0"), "@20240620".
  std::string_view family = name;
  const auto v = family.find("-v");
  if (v != std::string_view::npos && v + 2 < family.size() && std::isdigit(static_cast<unsigned char>(family[v + 2])))
    family = family.substr(0, v);
  if (family.size() > 11 && (family[family.size() - 11] == '-') && all_digits(family.substr(family.size() - 10, 4)) &&
      family[family.size() - 6] == '-' && family[family.size() - 3] == '-') {
    id.version = std::string(family.substr(family.size() - 10));
    family = family.substr(0, family.size() - 11);
  } else if (family.size() > 9 && (family[family.size() - 9] == '-' || family[family.size() - 9] == '@') &&
             all_digits(family.substr(family.size() - 8))) {
    id.version = std::string(family.substr(family.size() - 8));
    family = family.substr(0, family.size() - 9);
  }
  id.family = family.empty() ? id.id : std::string(family);
  return id;
}

void focus_rows_each(Store& store, const ReportQuery& q, const std::function<void(const json& row)>& row) {
  std::vector<sql::Value> params;
  const std::string statement = statement_of(store.dialect(), q, params);
  store.report_rows_each(statement, params, [&row](sql::Row&& r) { group_rows(r, row); });
}

void focus_report(Store& store, const ReportQuery& q, json& out) {
  out["focus_version"] = kFocusVersion;
  out["columns"] = focus_columns();
  // The JSON answer is one document: it keeps the reports' row cap. The CSV export streams (focus_csv).
  json list = json::array();
  focus_rows_each(store, q, [&list](const json& row) {
    if (list.size() >= kMaxReportRows)
      throw BadReportQuery("focus: more than " + std::to_string(kMaxReportRows) +
                           " rows in JSON; ask for a narrower range or for format=csv, which streams");
    list.push_back(row);
  });
  out["rows"] = std::move(list);
}

std::uint64_t focus_csv(Store& store, const ReportQuery& q, const std::function<void(std::string_view)>& write) {
  check_query(q);
  write(csv_record(json(focus_columns())));
  std::uint64_t rows = 0;
  focus_rows_each(store, q, [&](const json& row) {
    write(csv_record(row));
    ++rows;
  });
  return rows;
}

}  // namespace shadowmeter::collector::reports
