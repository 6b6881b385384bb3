#include "storage/cursor.h"

#include <charconv>
#include <stdexcept>

#include "storage/records.h"

namespace shadowmeter::collector::sql {

std::string encode_cursor(const Cursor& c) { return std::to_string(c.time_unix_nano) + "-" + c.event_id; }

Cursor decode_cursor(std::string_view text) {
  const std::size_t dash = text.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash > 19)
    throw std::invalid_argument("malformed cursor");
  const std::string_view time = text.substr(0, dash);
  const std::string_view id = text.substr(dash + 1);
  Cursor c;
  for (const char ch : time) {
    if (ch < '0' || ch > '9') throw std::invalid_argument("malformed cursor");
  }
  const auto [end, ec] = std::from_chars(time.data(), time.data() + time.size(), c.time_unix_nano);
  if (ec != std::errc() || end != time.data() + time.size() || !records::valid_event_id(id)) {
    throw std::invalid_argument("malformed cursor");
  }
  c.event_id = std::string(id);
  return c;
}

}  // namespace shadowmeter::collector::sql
