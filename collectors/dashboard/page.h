// The page shell shared by the dashboard and the standalone report pages (head, inline CSS, header
// with the cost note, footer), and the element that carries one checked figure.
#pragma once

#include <string>
#include <string_view>

#include "dashboard/format.h"

namespace shadowmeter::collector::dashboard {

inline constexpr std::string_view kCostNote = "Estimated list price; not an invoice.";

// A whole document: <!DOCTYPE html>, the CSP as a meta element too (so a saved file keeps it), the
// styles, `title` as <title> and <h1>, `subtitle` (HTML) under it, then `body` (HTML).
std::string page(const std::string& title, const std::string& subtitle_html, const std::string& body_html,
                 const std::string& generated_at);

// A figure the tests compare with the API: <span data-metric="NAME" data-source="SOURCE"
// data-pointer="/json/pointer" data-value="exact JSON value">formatted</span>. `source` names the
// report the value comes from (the dashboard: showback_by_owner_day, showback_by_model, shadow, coverage;
// a report page: the report's name) and `pointer` is the RFC 6901 path of the value in that report.
std::string figure(std::string_view metric, std::string_view source, const json& report,
                   const std::string& pointer, Kind kind);

// A headline card: a label over a big figure, with an optional note.
std::string card(std::string_view label, const std::string& figure_html, std::string_view note = {});

// "/a/b" + "c~d" -> "/a/b/c~0d" (RFC 6901 escaping).
std::string pointer_join(const std::string& base, std::string_view token);
std::string pointer_join(const std::string& base, std::size_t index);

}  // namespace shadowmeter::collector::dashboard
