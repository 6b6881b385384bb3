#include "protocols/http1/http1_parser.h"
#include "protocols/http1/syntax.h"

namespace shadowmeter::http1 {

std::string_view MessageHead::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (syntax::iequals(h.name, name)) return h.value;
  }
  return {};
}

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::complete:
      return "complete";
    case Outcome::truncated:
      return "truncated";
    case Outcome::gap:
      return "gap";
    case Outcome::malformed:
      return "malformed";
    case Outcome::decode_error:
      return "decode_error";
    case Outcome::decode_limit:
      return "decode_limit";
    case Outcome::body_limit:
      return "body_limit";
  }
  return "unknown";
}

bool looks_like_request_start(std::string_view bytes) {
  // The longest known method is 7 bytes; no need to look further for the space.
  const auto sp = bytes.substr(0, 8).find(' ');
  return sp != std::string_view::npos && syntax::is_known_method(bytes.substr(0, sp));
}

bool looks_like_response_start(std::string_view bytes) { return bytes.starts_with("HTTP/1."); }

}  // namespace shadowmeter::http1
