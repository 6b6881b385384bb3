#include "reports/focus.h"

#include <cstdio>
#include <stdexcept>

#include "reports/facts.h"
#include "reports/metrics.h"
#include "reports/report_parts.h"
#include "reports/time_text.h"

namespace shadowmeter::collector::reports {
namespace {

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

nlohmann::json or_null(const nlohmann::json& v) { return v.is_string() ? v : nlohmann::json(nullptr); }

}  // namespace

void focus_report(Store& store, const ReportQuery& q, nlohmann::json& out) {
  const sql::Dialect d = store.dialect();
  SqlText s;
  s << "SELECT " << day_bucket(d, "t")
    << ", d_provider, d_model, d_owner, d_namespace, d_workload, d_key, " << metric_select() << ", "
    << distinct_list(d, "pricing_source") << ", " << distinct_list(d, "usage_source")
    << ", COALESCE(SUM(rolled_up_calls), 0), " << distinct_list(d, "d_environment") << " FROM "
    << facts(d, q.from_unix_nano, q.to_unix_nano, q.owner)
    // Blind connections are no calls and cost nothing known: no charge row.
    << " GROUP BY 1, 2, 3, 4, 5, 6, 7 HAVING SUM(calls) > 0 ORDER BY 1";
  for (const char* c : {"d_provider", "d_model", "d_owner", "d_namespace", "d_workload", "d_key"})
    s << ", " << nulls_last(c);
  s << " LIMIT ";
  s.bind(static_cast<std::int64_t>(kMaxReportRows) + 1);
  const auto rows = store.report_rows(s.text, s.params);
  if (rows.size() > kMaxReportRows)
    throw BadReportQuery("focus: more than " + std::to_string(kMaxReportRows) + " rows; ask for a narrower range");

  out["focus_version"] = kFocusVersion;
  out["columns"] = focus_columns();
  nlohmann::json list = nlohmann::json::array();
  for (const sql::Row& r : rows) {
    const std::string day = sql::as_text(r[0]).value_or("1970-01-01");
    const std::uint64_t day_ns = day_start(day);
    const nlohmann::json provider = text_or_null(r[1]), model = text_or_null(r[2]), owner = text_or_null(r[3]),
                         ns = text_or_null(r[4]), workload = text_or_null(r[5]), key = text_or_null(r[6]);
    const Metrics m = read_metrics(r, 7);
    const std::size_t at = 7 + kMetricColumns;
    const nlohmann::json pricing_sources = split_list(r[at]);
    const nlohmann::json usage_sources = split_list(r[at + 1]);
    const std::int64_t rolled_up = int_of(r[at + 2]);
    const nlohmann::json environments = split_list(r[at + 3]);

    const std::string provider_name = provider.is_string() ? provider.get<std::string>() : "unknown";
    const std::string model_name = model.is_string() ? model.get<std::string>() : "unknown model";
    const std::string key_text = key.is_string() ? key.get<std::string>() : "";
    const std::int64_t tokens = m.input_tokens + m.output_tokens;
    const std::string cost = decimal(m.cost_usd, 9);
    std::string sources;
    for (const auto& p : pricing_sources) sources += (sources.empty() ? "" : ";") + p.get<std::string>();
    std::string usage;
    for (const auto& u : usage_sources) usage += (usage.empty() ? "" : ";") + u.get<std::string>();

    nlohmann::json tags = nlohmann::json::object();
    if (owner.is_string()) tags["owner"] = owner;
    if (ns.is_string()) tags["namespace"] = ns;
    if (workload.is_string()) tags["workload"] = workload;
    if (model.is_string()) tags["model"] = model;
    if (environments.size() == 1) tags["environment"] = environments[0];

    std::string resource_id = ns.is_string() ? ns.get<std::string>() + "/" : std::string();
    resource_id += workload.is_string() ? workload.get<std::string>() : std::string("unattributed");
    const bool k8s = workload.is_string() && workload.get<std::string>().find('/') != std::string::npos;

    const std::string description =
        "Estimated list-price cost (not an invoice) of " + std::to_string(m.calls) + " " + provider_name + " " +
        model_name + " calls observed by shadowmeter" +
        (m.priced_calls < m.calls ? "; " + std::to_string(m.calls - m.priced_calls) + " calls had no price" : "");

    list.push_back(nlohmann::json::array({
        cost, cost, cost, cost,                                                          // Billed..Contracted
        provider_name + ":" + (key_text.empty() ? "unknown-key" : key_text),             // BillingAccountId
        provider_name + (key_text.empty() ? " (API key unknown)" : " API key " + key_text),  // ...Name
        "USD", rfc3339(month_start(day_ns)), rfc3339(next_month_start(day_ns)),          // currency, period
        "Usage", nullptr, description,                                                   // ChargeCategory..
        rfc3339(day_ns), rfc3339(day_ns + kDayNs),                                       // ChargePeriod
        provider_name, provider_name, provider_name,                                     // issuer, provider, pub.
        decimal(static_cast<double>(tokens) / 1e6, 6), kFocusPricingUnit,                // PricingQuantity, Unit
        kFocusServiceCategory, provider_name + " API",                                   // ServiceCategory, Name
        "Generative AI", std::to_string(tokens), kFocusConsumedUnit,                     // Subcat, Consumed
        resource_id, workload.is_string() ? workload : nlohmann::json(resource_id),     // ResourceId, Name
        k8s ? "Kubernetes Workload" : (workload.is_string() ? "Process" : "Unattributed"),
        tags.dump(),                                                                     // Tags
        "true", sources.empty() ? "unpriced" : sources, usage.empty() ? nullptr : nlohmann::json(usage),
        or_null(owner), or_null(ns), or_null(workload), or_null(key), or_null(model),
        std::to_string(m.calls), std::to_string(m.priced_calls), std::to_string(m.input_tokens),
        std::to_string(m.output_tokens), std::to_string(m.cache_read_tokens),
        std::to_string(m.cache_creation_tokens), std::to_string(m.reasoning_tokens), std::to_string(rolled_up),
    }));
    if (list.back().size() != focus_columns().size()) throw std::logic_error("focus: row and columns differ");
  }
  out["rows"] = std::move(list);
}

}  // namespace shadowmeter::collector::reports
