// HTML text and attribute escaping for the dashboard. Every label on the page (owners, models, hosts)
// comes from agents and is treated as hostile: nothing reaches the page unescaped.
#pragma once

#include <string>
#include <string_view>

namespace shadowmeter::collector::dashboard {

// Escapes & < > " ' so the result is safe as element text and inside a double-quoted attribute, in
// HTML and in the inline SVG (XML). Bytes that are not valid UTF-8 and control characters other than
// tab / newline become U+FFFD, so a label cannot break the document's encoding or its XML form.
std::string esc(std::string_view text);

// ` name="escaped value"` (with the leading space).
std::string attr(std::string_view name, std::string_view value);

}  // namespace shadowmeter::collector::dashboard
