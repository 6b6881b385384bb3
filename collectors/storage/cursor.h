// The keyset cursor of query_calls pages: the (time_unix_nano, event_id) of the last row served,
// as "<time>-<event id>". Opaque to clients; URL-safe since event ids are [0-9A-Za-z._-].
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shadowmeter::collector::sql {

struct Cursor {
  std::int64_t time_unix_nano = 0;
  std::string event_id;
};

std::string encode_cursor(const Cursor& c);
// Throws std::invalid_argument when `text` is not a cursor encode_cursor() could have made.
Cursor decode_cursor(std::string_view text);

}  // namespace shadowmeter::collector::sql
