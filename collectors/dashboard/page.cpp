#include "dashboard/page.h"

#include "dashboard/dashboard.h"
#include "dashboard/html.h"
#include "dashboard/style.h"

namespace shadowmeter::collector::dashboard {

std::string page(const std::string& title, const std::string& subtitle_html, const std::string& body_html,
                 const std::string& generated_at) {
  std::string out;
  out.reserve(body_html.size() + 8192);
  out += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>";
  out += "<meta http-equiv=\"Content-Security-Policy\"" + attr("content", kContentSecurityPolicy) + "/>";
  out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>";
  out += "<meta name=\"referrer\" content=\"no-referrer\"/>";
  out += "<title>" + esc(title) + "</title><style>";
  out += stylesheet();
  out += "</style></head><body><header class=\"top\"><h1>" + esc(title) + "</h1><p>" + subtitle_html +
         "</p></header><main>";
  out += "<p class=\"note\" data-metric=\"cost-note\"><strong>Costs are estimates:</strong> " +
         esc(std::string(kCostNote)) +
         " They are computed by the agents from list prices and omit discounts, commitments, free tiers "
         "and taxes.</p>";
  out += body_html;
  out +=
      "</main><footer>Generated " + esc(generated_at) +
      " by shadowmeter-collector. All costs: estimated list price; not an invoice.</footer></body></html>\n";
  return out;
}

std::string pointer_join(const std::string& base, std::string_view token) {
  std::string out = base + "/";
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string pointer_join(const std::string& base, std::size_t index) {
  return base + "/" + std::to_string(index);
}

std::string figure(std::string_view metric, std::string_view source, const json& report,
                   const std::string& pointer, Kind kind) {
  const json* v = nullptr;
  try {
    const json::json_pointer p(pointer);
    if (report.contains(p)) v = &report.at(p);
  } catch (const json::exception&) {
    v = nullptr;  // a malformed path or a type on the way: shown as n/a
  }
  return "<span class=\"fig\"" + attr("data-metric", metric) + attr("data-source", source) +
         attr("data-pointer", pointer) + attr("data-value", exact(v)) + ">" + esc(show(v, kind)) + "</span>";
}

std::string card(std::string_view label, const std::string& figure_html, std::string_view note) {
  std::string out = "<div class=\"card\"><div class=\"label\">" + esc(label) + "</div><div class=\"big\">" +
                    figure_html + "</div>";
  if (!note.empty()) out += "<div class=\"sub\">" + esc(note) + "</div>";
  return out + "</div>";
}

}  // namespace shadowmeter::collector::dashboard
