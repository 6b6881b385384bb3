#include "protocols/sse/sse_parser.h"

namespace shadowmeter::sse {
namespace {
constexpr std::string_view kBom = "\xEF\xBB\xBF";
}  // namespace

Parser::Parser(Callback cb, std::size_t max_event_bytes)
    : cb_(std::move(cb)), max_event_bytes_(max_event_bytes) {}

void Parser::feed(std::string_view bytes) {
  // A BOM is stripped once at the start of the stream, even when it arrives a byte at a time.
  while (!bom_checked_ && !bytes.empty()) {
    if (bytes.front() == kBom[bom_matched_]) {
      bytes.remove_prefix(1);
      if (++bom_matched_ == kBom.size()) bom_checked_ = true;
    } else {
      bom_checked_ = true;
      scan(kBom.substr(0, bom_matched_));  // a false start: those bytes were data after all
    }
  }
  scan(bytes);
}

void Parser::scan(std::string_view bytes) {
  while (!bytes.empty()) {
    if (saw_cr_) {
      saw_cr_ = false;
      if (bytes.front() == '\n') {  // the LF of a CRLF split across feeds
        bytes.remove_prefix(1);
        continue;
      }
    }
    const auto end = bytes.find_first_of("\r\n");
    const auto piece = bytes.substr(0, end);
    // Only data, event type and the line being read are held; their total is bounded, checked at
    // every step so that the decision does not depend on how the bytes were split.
    if (!skipping_ && data_.size() + type_.size() + pending_line_.size() + piece.size() > max_event_bytes_) {
      ++stats_.oversized;
      start_skipping();
    }
    if (skipping_) {
      line_dropped_ |= !piece.empty();
    } else if (end == std::string_view::npos) {
      pending_line_.append(piece);
    }
    if (end == std::string_view::npos) return;
    saw_cr_ = bytes[end] == '\r';
    bytes.remove_prefix(end + 1);
    end_of_line(piece);
  }
}

void Parser::end_of_line(std::string_view tail) {
  if (skipping_) {
    const bool blank = !line_dropped_ && tail.empty();
    line_dropped_ = false;
    if (blank) {
      skipping_ = false;
      clear_event();
    }
    return;
  }
  if (pending_line_.empty()) {
    line(tail);
    return;
  }
  pending_line_.append(tail);
  line(pending_line_);
  pending_line_.clear();
}

void Parser::line(std::string_view l) {
  if (l.empty()) {
    dispatch();
    return;
  }
  if (l.front() == ':') return;  // comment, e.g. a keep-alive ": ping"
  const auto colon = l.find(':');
  const auto field = l.substr(0, colon);
  auto value = colon == std::string_view::npos ? std::string_view() : l.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    type_.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) id_.assign(value);
  }
  // retry and unknown fields are ignored, as the spec says.
}

void Parser::dispatch() {
  if (has_data_) {
    ++stats_.events;
    cb_(Event{type_.empty() ? std::string_view("message") : std::string_view(type_), data_, id_});
  }
  clear_event();
}

void Parser::clear_event() {
  data_.clear();
  type_.clear();
  has_data_ = false;
}

void Parser::start_skipping() {
  skipping_ = true;
  line_dropped_ = !pending_line_.empty();
  pending_line_.clear();
  clear_event();
}

void Parser::finish() {
  pending_line_.clear();
  clear_event();
  skipping_ = false;
  line_dropped_ = false;
  saw_cr_ = false;
}

void Parser::gap() {
  bom_checked_ = true;
  saw_cr_ = false;
  start_skipping();
  // The bytes before the gap may have been part of the line that now continues.
  line_dropped_ = true;
}

}  // namespace shadowmeter::sse
