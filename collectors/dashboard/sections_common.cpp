#include "dashboard/html.h"
#include "dashboard/sections.h"

namespace shadowmeter::collector::dashboard {

std::string key_label(const json& row, std::string_view key) {
  const std::string v = text(row, key);
  return v.empty() ? "(none)" : v;
}

std::string panel(std::string_view heading, const std::string& content_html, bool wide, std::string_view id) {
  std::string out = "<section class=\"panel";
  if (wide) out += " wide";
  out += "\"";
  if (!id.empty()) out += attr("id", id);
  return out + "><h2>" + esc(heading) + "</h2>" + content_html + "</section>";
}

std::string cut_note(std::size_t shown, std::size_t total) {
  if (shown >= total) return "";
  return "<p class=\"sub\">Showing the first " + std::to_string(shown) + " of " + std::to_string(total) +
         " (the API and the CSV export have all of them).</p>";
}

}  // namespace shadowmeter::collector::dashboard
