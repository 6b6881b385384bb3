// Showback panels: headline figures, spend over time, model mix and tiers, the rows, top movers.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>

#include "dashboard/charts.h"
#include "dashboard/html.h"
#include "dashboard/page.h"
#include "dashboard/palette.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {
namespace {

namespace chr = std::chrono;

constexpr std::size_t kMaxSeries = 8;
constexpr std::size_t kMaxFilledDays = 400;

std::optional<chr::sys_days> parse_day(const std::string& s) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (s.size() < 10 || std::sscanf(s.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
  const chr::year_month_day ymd{chr::year{y}, chr::month{m}, chr::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return chr::sys_days{ymd};
}

std::string day_text(chr::sys_days day) {
  const chr::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

// Every day of [from, to) as the x axis of a daily chart, so quiet days show as gaps; the periods present
// in the rows otherwise (weeks, months, or a range too long to draw day by day).
std::vector<std::string> periods(const json& showback, const std::set<std::string>& present) {
  std::vector<std::string> out;
  if (text(showback, "granularity") == "day") {
    const auto from = parse_day(text(showback, "from"));
    const std::string to_text = text(showback, "to");
    auto to = parse_day(to_text);
    if (from && to) {
      // `to` is exclusive: a range ending at midnight does not include that day.
      const bool midnight =
          to_text.size() >= 19 && to_text.compare(10, 9, "T00:00:00") == 0 &&
          (to_text.size() == 19 || to_text[19] == 'Z' || to_text[19] == '+' ||
           (to_text[19] == '.' && to_text.find_first_not_of("0", 20) >= to_text.size() - 1));
      if (!midnight) *to += chr::days{1};
      if (*to > *from && static_cast<std::size_t>((*to - *from).count()) <= kMaxFilledDays) {
        for (auto d = *from; d < *to; d += chr::days{1}) out.push_back(day_text(d));
        // Rows outside the computed range (should not happen) still get a bar.
        for (const auto& p : present)
          if (!std::binary_search(out.begin(), out.end(), p)) out.push_back(p);
        std::sort(out.begin(), out.end());
        return out;
      }
    }
  }
  out.assign(present.begin(), present.end());
  return out;
}

std::string metrics_row_cells(const json& report, std::string_view source, const std::string& ptr,
                              std::string_view prefix) {
  const std::string p(prefix);
  return "<td class=\"num\">" + figure(p + "calls", source, report, ptr + "/calls", Kind::count) +
         "</td><td class=\"num\">" +
         figure(p + "input-tokens", source, report, ptr + "/input_tokens", Kind::count) +
         "</td><td class=\"num\">" +
         figure(p + "output-tokens", source, report, ptr + "/output_tokens", Kind::count) +
         "</td><td class=\"num\">" + figure(p + "cost-usd", source, report, ptr + "/cost_usd", Kind::money) +
         "</td>";
}

}  // namespace

std::string showback_cards(const json& s, std::string_view src) {
  std::string out = "<div class=\"cards\">";
  out += card("Estimated spend", figure("total-cost-usd", src, s, "/totals/cost_usd", Kind::money),
              "list price; not an invoice");
  out += card("AI calls", figure("total-calls", src, s, "/totals/calls", Kind::count));
  out += card("Input tokens", figure("total-input-tokens", src, s, "/totals/input_tokens", Kind::count));
  out += card("Output tokens", figure("total-output-tokens", src, s, "/totals/output_tokens", Kind::count));
  out +=
      card("Calls without a price", figure("unpriced-calls", src, s, "/totals/unpriced_calls", Kind::count),
           "model not in the price table: no cost counted");
  out += card("Cost per call", figure("cost-per-call-usd", src, s, "/totals/cost_per_call_usd", Kind::money),
              "over priced calls");
  return out + "</div>";
}

std::string spend_over_time(const json& s, std::string_view, const std::string& dimension) {
  const json& rows = array(s, "rows");
  std::map<std::string, double> total_by_key;
  std::set<std::string> present;
  for (const json& r : rows) {
    const std::string period = text(r, "period");
    if (period.empty()) continue;
    present.insert(period);
    total_by_key[key_label(r, dimension)] += number(r, "cost_usd").value_or(0);
  }
  if (present.empty()) return no_data();
  std::vector<std::pair<std::string, double>> keys(total_by_key.begin(), total_by_key.end());
  std::stable_sort(keys.begin(), keys.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });

  StackedBars chart;
  chart.categories = periods(s, present);
  std::map<std::string, std::size_t> series_of;
  for (std::size_t i = 0; i < keys.size() && i < kMaxSeries; ++i) {
    series_of[keys[i].first] = i;
    chart.series.push_back({keys[i].first, palette::series(i), {}});
  }
  if (keys.size() > kMaxSeries)
    chart.series.push_back({std::to_string(keys.size() - kMaxSeries) + " other", palette::kOther, {}});
  for (Series& sr : chart.series) sr.values.assign(chart.categories.size(), 0.0);
  for (const json& r : rows) {
    const std::string period = text(r, "period");
    const auto at = std::lower_bound(chart.categories.begin(), chart.categories.end(), period);
    if (period.empty() || at == chart.categories.end() || *at != period) continue;
    const auto it = series_of.find(key_label(r, dimension));
    const std::size_t si = it != series_of.end() ? it->second : chart.series.size() - 1;
    chart.series[si].values[static_cast<std::size_t>(at - chart.categories.begin())] +=
        number(r, "cost_usd").value_or(0);
  }
  return stacked_bar_chart(chart, "Estimated spend per " + text(s, "granularity") + " by " + dimension);
}

std::string model_mix(const json& s, std::string_view src, std::size_t limit) {
  const json& rows = array(s, "rows");
  std::vector<Bar> bars;
  for (std::size_t i = 0; i < rows.size() && i < limit; ++i) {
    const json& r = rows[i];
    const std::string label = key_label(r, "provider") + " / " + key_label(r, "model");
    const std::string ptr = pointer_join("/rows", i);
    bars.push_back({label, number(r, "cost_usd").value_or(0),
                    figure("model-cost-usd", src, s, ptr + "/cost_usd", Kind::money) +
                        " <span class=\"sub\">" + figure("model-calls", src, s, ptr + "/calls", Kind::count) +
                        " calls</span>",
                    palette::series(0)});
  }
  if (bars.empty()) return no_data();
  return horizontal_bars(bars, "Estimated spend by provider and model") + cut_note(bars.size(), rows.size());
}

std::string model_tiers(const json& s, std::string_view src) {
  const json& tiers = array(s, "model_tiers");
  std::vector<Segment> segs;
  for (std::size_t i = 0; i < tiers.size(); ++i) {
    const std::string ptr = pointer_join("/model_tiers", i);
    segs.push_back({key_label(tiers[i], "tier"), number(tiers[i], "cost_share").value_or(0),
                    palette::series(i),
                    figure("tier-cost-share", src, s, ptr + "/cost_share", Kind::share) + " (" +
                        figure("tier-cost-usd", src, s, ptr + "/cost_usd", Kind::money) + ")"});
  }
  return share_bar(segs, "Share of estimated spend by model tier");
}

std::string showback_table(const json& s, std::string_view src, std::size_t limit) {
  const json& rows = array(s, "rows");
  if (rows.empty()) return no_data();
  std::vector<std::string> dims;
  for (const json& d : array(s, "group_by"))
    if (d.is_string()) dims.push_back(d.get<std::string>());
  const bool has_period = text(s, "granularity") != "total" && !text(s, "granularity").empty();
  std::string out = "<div class=\"table-wrap\"><table><thead><tr>";
  if (has_period) out += "<th>Period</th>";
  for (const auto& d : dims) out += "<th>" + esc(d) + "</th>";
  out +=
      "<th class=\"num\">Calls</th><th class=\"num\">Input tokens</th><th class=\"num\">Output tokens</th>"
      "<th class=\"num\">Est. cost</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < rows.size() && shown < limit; ++shown) {
    const json& r = rows[shown];
    out += "<tr>";
    if (has_period) out += "<td>" + esc(text(r, "period")) + "</td>";
    for (const auto& d : dims) out += "<td>" + esc(key_label(r, d)) + "</td>";
    out += metrics_row_cells(s, src, pointer_join("/rows", shown), "row-") + "</tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, rows.size());
}

std::string top_movers(const json& s, std::string_view src, std::size_t limit) {
  const json& movers = array(s, "top_movers");
  if (movers.empty()) return no_data("No change against the previous period.");
  std::vector<std::string> dims;
  for (const json& d : array(s, "group_by"))
    if (d.is_string()) dims.push_back(d.get<std::string>());
  std::string out = "<div class=\"table-wrap\"><table><thead><tr>";
  for (const auto& d : dims) out += "<th>" + esc(d) + "</th>";
  out +=
      "<th class=\"num\">Est. cost</th><th class=\"num\">Previous period</th><th class=\"num\">Change</th>"
      "<th class=\"num\">Change %</th></tr></thead><tbody>";
  std::size_t shown = 0;
  for (; shown < movers.size() && shown < limit; ++shown) {
    const json& m = movers[shown];
    const std::string ptr = pointer_join("/top_movers", shown);
    out += "<tr>";
    for (const auto& d : dims) out += "<td>" + esc(key_label(m, d)) + "</td>";
    out += "<td class=\"num\">" + figure("mover-cost-usd", src, s, ptr + "/cost_usd", Kind::money) +
           "</td><td class=\"num\">" +
           figure("mover-previous-cost-usd", src, s, ptr + "/previous_cost_usd", Kind::money) +
           "</td><td class=\"num\">" + figure("mover-change-usd", src, s, ptr + "/change_usd", Kind::money) +
           "</td><td class=\"num\">" +
           figure("mover-change-ratio", src, s, ptr + "/change_ratio", Kind::share) + "</td></tr>";
  }
  return out + "</tbody></table></div>" + cut_note(shown, movers.size());
}

}  // namespace shadowmeter::collector::dashboard
