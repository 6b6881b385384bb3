// A small XML well-formedness check for the dashboard's pages (which are written as XML-compatible
// HTML): tags balanced and properly nested, attributes quoted, no stray '<' or '&' in text.
#pragma once

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::testing {

// "" when well-formed, else what is wrong and where.
inline std::string xml_problem(std::string_view doc) {
  std::vector<std::string> open;
  std::size_t i = 0;
  const auto where = [&](std::size_t at) { return " at offset " + std::to_string(at); };
  const auto check_entity = [&](std::size_t at) -> bool {
    static const char* const known[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#39;"};
    for (const char* k : known)
      if (doc.substr(at, std::string_view(k).size()) == k) return true;
    return false;
  };
  while (i < doc.size()) {
    if (doc[i] == '&') {
      if (!check_entity(i)) return "bad entity" + where(i);
      ++i;
      continue;
    }
    if (doc[i] != '<') {
      ++i;
      continue;
    }
    if (doc.substr(i, 2) == "<!") {  // doctype or comment
      const std::size_t end = doc.find('>', i);
      if (end == std::string_view::npos) return "unterminated declaration" + where(i);
      i = end + 1;
      continue;
    }
    const bool closing = doc.substr(i, 2) == "</";
    std::size_t j = i + (closing ? 2 : 1);
    const std::size_t name_start = j;
    while (j < doc.size() &&
           (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == '-' || doc[j] == ':'))
      ++j;
    const std::string name(doc.substr(name_start, j - name_start));
    if (name.empty()) return "stray '<'" + where(i);
    if (closing) {
      if (j >= doc.size() || doc[j] != '>') return "bad closing tag " + name + where(i);
      if (open.empty() || open.back() != name)
        return "</" + name + "> closes <" + (open.empty() ? std::string("nothing") : open.back()) + ">" +
               where(i);
      open.pop_back();
      i = j + 1;
      continue;
    }
    // Attributes: name="value" (value without '<'; '&' only as entities).
    bool self_closing = false;
    for (;;) {
      while (j < doc.size() && std::isspace(static_cast<unsigned char>(doc[j]))) ++j;
      if (j >= doc.size()) return "unterminated tag " + name + where(i);
      if (doc[j] == '>') break;
      if (doc.substr(j, 2) == "/>") {
        self_closing = true;
        ++j;
        break;
      }
      const std::size_t an = j;
      while (j < doc.size() &&
             (std::isalnum(static_cast<unsigned char>(doc[j])) || doc[j] == '-' || doc[j] == ':'))
        ++j;
      if (j == an) return "bad attribute in " + name + where(j);
      if (doc.substr(j, 2) != "=\"") return "unquoted attribute in " + name + where(j);
      j += 2;
      while (j < doc.size() && doc[j] != '"') {
        if (doc[j] == '<') return "'<' in attribute of " + name + where(j);
        if (doc[j] == '&' && !check_entity(j)) return "bad entity in attribute" + where(j);
        ++j;
      }
      if (j >= doc.size()) return "unterminated attribute in " + name + where(an);
      ++j;
    }
    if (!self_closing) open.push_back(name);
    i = j + 1;
  }
  if (!open.empty()) return "unclosed <" + open.back() + ">";
  return "";
}

// Every <svg ...>...</svg> of a page.
inline std::vector<std::string> svg_parts(const std::string& page) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while ((at = page.find("<svg", at)) != std::string::npos) {
    const std::size_t end = page.find("</svg>", at);
    if (end == std::string::npos) {
      out.push_back(page.substr(at));
      break;
    }
    out.push_back(page.substr(at, end + 6 - at));
    at = end + 6;
  }
  return out;
}

}  // namespace shadowmeter::testing
