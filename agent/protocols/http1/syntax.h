// HTTP/1.x line-level grammar: start lines, header field lines, framing header values, and the
// plausibility tests used to find a message start after lost or malformed bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "protocols/http1/http1_parser.h"

namespace shadowmeter::http1::syntax {

bool is_tchar(char c);
char lower(char c);
bool iequals(std::string_view a, std::string_view b);
std::string_view trim_ows(std::string_view s);

// Methods we accept as a message start when resynchronising; any token is accepted in sync.
bool is_known_method(std::string_view m);

// `line` excludes the line end. They fill the start-line fields of `head` and return false on
// anything that is not a valid start line.
bool parse_request_line(std::string_view line, MessageHead& head);
bool parse_status_line(std::string_view line, MessageHead& head);
// "name: value" with a token name and no obs-fold; the name is lower-cased, the value trimmed.
bool parse_header_line(std::string_view line, Header& out);

// Resynchronisation: finds a message start that runs to the end of `line` (a complete line
// without its line end), either at the line start or glued after other bytes, as when a body
// without a final newline is followed by the next message. Requests: a known method, SP, target,
// SP, "HTTP/1.x"; responses: "HTTP/1.x DDD [reason]". Only starts at or after `from` count.
// Returns the offset of the start, with the start line parsed into `head`.
std::optional<std::size_t> find_message_start(Role role, std::string_view line, std::size_t from,
                                              MessageHead& head);

// A Content-Length value: digits, or a list of identical values ("5, 5"). nullopt when invalid.
std::optional<std::uint64_t> parse_content_length(std::string_view value);

}  // namespace shadowmeter::http1::syntax
