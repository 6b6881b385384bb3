#include "reports/model_tiers.h"

#include <map>

#include "reports/metrics.h"
#include "reports/report_parts.h"

namespace shadowmeter::collector::reports {

std::string model_tier(bool embedding, double cost_usd, std::int64_t priced_tokens) {
  if (embedding) return "embedding";
  if (priced_tokens <= 0) return "unpriced";
  const double per_million = cost_usd * 1e6 / static_cast<double>(priced_tokens);
  if (per_million >= 5.0) return "premium";
  if (per_million >= 0.5) return "standard";
  return "economy";
}

SqlText model_tier_query(const SqlText& facts) {
  SqlText s;
  s << "SELECT d_provider, d_model, CASE WHEN operation IN ('embeddings', 'embedding') THEN 1 ELSE 0 END, "
       "COALESCE(SUM(calls), 0), COALESCE(SUM(cost_usd), 0), COALESCE(SUM(priced_tokens), 0) FROM "
    << facts << " GROUP BY 1, 2, 3 LIMIT 100001";
  return s;
}

nlohmann::json model_tier_mix(const std::vector<sql::Row>& rows) {
  struct Sum {
    std::int64_t calls = 0;
    double cost = 0;
  };
  std::map<std::string, Sum> by_tier;
  double total = 0;
  for (const sql::Row& r : rows) {
    const double cost = double_of(r[4]);
    Sum& s = by_tier[model_tier(int_of(r[2]) == 1, cost, int_of(r[5]))];
    s.calls += int_of(r[3]);
    s.cost += cost;
    total += cost;
  }
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& tier : tier_names()) {
    const Sum s = by_tier[tier];
    out.push_back({{"tier", tier},
                   {"calls", s.calls},
                   {"cost_usd", money(s.cost)},
                   {"cost_share", share(money(s.cost), money(total))}});
  }
  return out;
}

}  // namespace shadowmeter::collector::reports
