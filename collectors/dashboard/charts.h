// Charts drawn server-side as inline SVG (well-formed XML, no script, no external reference): a stacked
// bar chart over time, horizontal bars, and a 100% bar of shares. Labels are escaped here; values are
// what the caller read from the report JSON (the charts only scale them).
#pragma once

#include <string>
#include <vector>

namespace shadowmeter::collector::dashboard {

struct Series {
  std::string name;
  std::string colour;
  std::vector<double> values;  // one per category
};

struct StackedBars {
  std::vector<std::string> categories;  // x axis, e.g. days "2026-11-23"
  std::vector<Series> series;           // stacked bottom-up in this order
  bool money = true;                    // y axis as dollars, else counts
};

// Stacked bars with a y axis (nice ticks, grid), x labels thinned to fit, a legend, and a <title> per
// segment (hover text). `title` names the chart for assistive technology. Empty or all-zero data
// gives the "no data" note instead of an empty frame.
std::string stacked_bar_chart(const StackedBars& chart, const std::string& title);

struct Bar {
  std::string label;       // shown as text (escaped)
  double value = 0;        // bar length relative to the largest value
  std::string value_html;  // the figure at the bar's end (already HTML, e.g. a data-metric span)
  std::string colour;
};

// Horizontal bars as an HTML table (label, an SVG bar, the figure), readable at any width.
std::string horizontal_bars(const std::vector<Bar>& bars, const std::string& title);

struct Segment {
  std::string label;
  double share = 0;  // 0..1
  std::string colour;
  std::string figure_html;  // legend text (already HTML)
};

// One 100% bar split into segments, with a legend below.
std::string share_bar(const std::vector<Segment>& segments, const std::string& title);

// The empty state used by every section.
std::string no_data(const std::string& what = "No data in this range.");

}  // namespace shadowmeter::collector::dashboard
