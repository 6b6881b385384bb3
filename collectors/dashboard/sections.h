// The panels of the dashboard and of the standalone report pages. Each takes one report's JSON (shapes in
// reports/report.h) and the name of its source for the data-metric elements (see page.h: figure()).
// A panel with nothing to show says so ("No data in this range.") instead of drawing an empty chart.
#pragma once

#include <string>
#include <string_view>

#include "dashboard/format.h"

namespace shadowmeter::collector::dashboard {

// "<value>" of a group key for display: null or absent -> "(none)".
std::string key_label(const json& row, std::string_view key);

// Showback (sections_spend.cpp).
std::string showback_cards(const json& showback, std::string_view source);
// Stacked bars of cost per period, one series per value of `dimension` (top 8, the rest as "other").
std::string spend_over_time(const json& showback, std::string_view source, const std::string& dimension);
// Horizontal bars of cost per provider/model row.
std::string model_mix(const json& showback, std::string_view source, std::size_t limit);
std::string model_tiers(const json& showback, std::string_view source);
std::string showback_table(const json& showback, std::string_view source, std::size_t limit);
std::string top_movers(const json& showback, std::string_view source, std::size_t limit);

// Shadow AI (sections_shadow.cpp).
std::string shadow_cards(const json& shadow, std::string_view source);
std::string top_shadow_workloads(const json& shadow, std::string_view source, std::size_t limit);
std::string shadow_findings_table(const json& shadow, std::string_view source, std::size_t limit);

// Coverage and fleet health (sections_coverage.cpp).
std::string coverage_cards(const json& coverage, std::string_view source);
std::string visibility_breakdown(const json& coverage, std::string_view source);
std::string allocation_breakdown(const json& coverage, std::string_view source, std::size_t limit);
std::string pricing_breakdown(const json& coverage, std::string_view source, std::size_t limit);
std::string blind_spots(const json& coverage, std::string_view source, std::size_t limit);
std::string visibility_table(const json& coverage, std::string_view source, const std::string& scope,
                             const std::string& key, std::size_t limit);
std::string fleet_health(const json& coverage, std::string_view source, std::size_t limit);

// A panel: <section class="panel"> with a heading and the content.
std::string panel(std::string_view heading, const std::string& content_html, bool wide = false,
                  std::string_view id = {});
// "Showing the first N of M." when a list was cut for the page.
std::string cut_note(std::size_t shown, std::size_t total);

}  // namespace shadowmeter::collector::dashboard
