#include "dashboard/charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "dashboard/format.h"
#include "dashboard/html.h"

namespace shadowmeter::collector::dashboard {
namespace {

// SVG coordinates with one decimal: short, and stable across platforms.
std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A "nice" step (1, 2 or 5 times a power of ten) giving about `ticks` intervals up to `max`.
double nice_step(double max, int ticks) {
  const double raw = max / ticks;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  const double nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10;
  return nice * mag;
}

std::string axis_label(double v, bool as_money) {
  if (!as_money) return compact(v);
  if (v >= 1000) return "$" + compact(v);
  return money(v);
}

std::string legend(const std::vector<Series>& series) {
  std::string out = "<ul class=\"legend\">";
  for (const Series& s : series)
    out += "<li><span class=\"swatch\" style=\"background:" + esc(s.colour) + "\"></span>" + esc(s.name) +
           "</li>";
  return out + "</ul>";
}

}  // namespace

std::string no_data(const std::string& what) { return "<p class=\"empty\">" + esc(what) + "</p>"; }

std::string stacked_bar_chart(const StackedBars& c, const std::string& title) {
  const std::size_t n = c.categories.size();
  double max = 0;
  for (std::size_t i = 0; i < n; ++i) {
    double sum = 0;
    for (const Series& s : c.series)
      if (i < s.values.size() && std::isfinite(s.values[i]) && s.values[i] > 0) sum += s.values[i];
    max = std::max(max, sum);
  }
  if (n == 0 || c.series.empty() || max <= 0) return no_data();

  constexpr double W = 720, H = 300, left = 70, right = 12, top = 12, bottom = 42;
  const double plot_w = W - left - right, plot_h = H - top - bottom;
  const double step = nice_step(max, 4);
  const double y_max = std::ceil(max / step) * step;
  const auto y = [&](double v) { return top + plot_h - v / y_max * plot_h; };

  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + num(W) + " " + num(H) +
                    "\" xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"" + attr("aria-label", title) +
                    "><title>" + esc(title) + "</title>";
  // Grid and y axis labels.
  for (double t = 0; t <= y_max + step / 2; t += step) {
    svg += "<line class=\"grid\" x1=\"" + num(left) + "\" x2=\"" + num(W - right) + "\" y1=\"" + num(y(t)) +
           "\" y2=\"" + num(y(t)) + "\"/>";
    svg += "<text class=\"axis\" x=\"" + num(left - 6) + "\" y=\"" + num(y(t) + 4) +
           "\" text-anchor=\"end\">" + esc(axis_label(t, c.money)) + "</text>";
  }
  // Bars, bottom-up per category.
  const double band = plot_w / static_cast<double>(n);
  const double bar_w = std::clamp(band * 0.78, 1.0, 56.0);  // a few days do not make slabs
  const std::size_t label_every = std::max<std::size_t>(1, (n + 11) / 12);
  for (std::size_t i = 0; i < n; ++i) {
    const double x = left + band * static_cast<double>(i) + (band - bar_w) / 2;
    double base = 0;
    for (const Series& s : c.series) {
      const double v = i < s.values.size() && std::isfinite(s.values[i]) ? s.values[i] : 0;
      if (v <= 0) continue;
      const double y0 = y(base), y1 = y(base + v);
      svg += "<rect x=\"" + num(x) + "\" y=\"" + num(y1) + "\" width=\"" + num(bar_w) + "\" height=\"" +
             num(std::max(0.5, y0 - y1)) + "\" fill=\"" + esc(s.colour) + "\"><title>" + esc(s.name) + ", " +
             esc(c.categories[i]) + ": " + esc(c.money ? money(v) : count(v)) + "</title></rect>";
      base += v;
    }
    if (i % label_every == 0) {
      // "2026-11-23" -> "11-23": the year is in the range shown above the chart.
      const std::string& cat = c.categories[i];
      const std::string short_label = cat.size() == 10 && cat[4] == '-' ? cat.substr(5) : cat;
      svg += "<text class=\"axis\" x=\"" + num(left + band * (static_cast<double>(i) + 0.5)) + "\" y=\"" +
             num(H - bottom + 16) + "\" text-anchor=\"middle\">" + esc(short_label) + "</text>";
    }
  }
  svg += "<line class=\"baseline\" x1=\"" + num(left) + "\" x2=\"" + num(W - right) + "\" y1=\"" + num(y(0)) +
         "\" y2=\"" + num(y(0)) + "\"/>";
  svg += "</svg>";
  // Scrolls inside its box on a narrow screen instead of shrinking the labels out of reach.
  return "<figure class=\"chart-box\"><div class=\"chart-scroll\">" + svg + "</div>" + legend(c.series) +
         "</figure>";
}

std::string horizontal_bars(const std::vector<Bar>& bars, const std::string& title) {
  double max = 0;
  for (const Bar& b : bars)
    if (std::isfinite(b.value)) max = std::max(max, b.value);
  if (bars.empty()) return no_data();
  std::string out = "<table class=\"hbars\"" + attr("aria-label", title) + "><tbody>";
  for (const Bar& b : bars) {
    const double pct = max > 0 && std::isfinite(b.value) && b.value > 0 ? b.value / max * 100.0 : 0;
    out += "<tr><th scope=\"row\">" + esc(b.label) + "</th><td class=\"bar\">" +
           "<svg viewBox=\"0 0 100 10\" preserveAspectRatio=\"none\" xmlns=\"http://www.w3.org/2000/svg\" "
           "aria-hidden=\"true\"><rect x=\"0\" y=\"0\" width=\"" +
           num(std::max(pct, pct > 0 ? 0.5 : 0.0)) + "\" height=\"10\" fill=\"" + esc(b.colour) +
           "\"/></svg></td><td class=\"num\">" + b.value_html + "</td></tr>";
  }
  return out + "</tbody></table>";
}

std::string share_bar(const std::vector<Segment>& segments, const std::string& title) {
  double total = 0;
  for (const Segment& s : segments)
    if (std::isfinite(s.share) && s.share > 0) total += s.share;
  if (segments.empty() || total <= 0) return no_data();
  std::string svg =
      "<svg class=\"sharebar\" viewBox=\"0 0 100 8\" preserveAspectRatio=\"none\" "
      "xmlns=\"http://www.w3.org/2000/svg\" role=\"img\"" +
      attr("aria-label", title) + "><title>" + esc(title) + "</title>";
  double x = 0;
  for (const Segment& s : segments) {
    if (!std::isfinite(s.share) || s.share <= 0) continue;
    // Scaled by the sum so rounding in the shares never overflows the bar.
    const double w = s.share / std::max(total, 1.0) * 100.0;
    svg += "<rect x=\"" + num(x) + "\" y=\"0\" width=\"" + num(w) + "\" height=\"8\" fill=\"" +
           esc(s.colour) + "\"><title>" + esc(s.label) + ": " + esc(percent(s.share)) + "</title></rect>";
    x += w;
  }
  svg += "</svg>";
  std::string legend = "<ul class=\"legend\">";
  for (const Segment& s : segments)
    legend += "<li><span class=\"swatch\" style=\"background:" + esc(s.colour) + "\"></span>" + esc(s.label) +
              " " + s.figure_html + "</li>";
  legend += "</ul>";
  return "<figure class=\"chart-box\">" + svg + legend + "</figure>";
}

}  // namespace shadowmeter::collector::dashboard
