#include "providers/gemini/json_array_stream.h"

#include <utility>

namespace shadowmeter::providers {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

}  // namespace

JsonArrayStream::JsonArrayStream(Callback cb, std::size_t max_value_bytes)
    : cb_(std::move(cb)), max_(max_value_bytes) {}

void JsonArrayStream::keep(std::string_view bytes) {
  if (buf_.size() + bytes.size() > max_) {
    bytes = bytes.substr(0, max_ - buf_.size());
    overflow_ = true;
  }
  buf_.append(bytes);
}

void JsonArrayStream::element_done(std::string_view piece, std::size_t begin, std::size_t end) {
  in_value_ = false;
  const std::string_view tail = piece.substr(begin, end - begin);
  if (buf_.size() + tail.size() > max_) {
    keep(tail);  // too big to scan whole: kept cut, as the end of the readable body
    return;
  }
  if (buf_.empty()) {
    if (cb_) cb_(tail);  // the whole element is in this piece: no copy
    return;
  }
  buf_.append(tail);
  if (cb_) cb_(buf_);
  buf_.clear();
}

void JsonArrayStream::feed(std::string_view piece) {
  if (overflow_ || garbage_) return;
  std::size_t i = 0;
  if (mode_ == Mode::start) {
    while (i < piece.size() && is_space(piece[i])) ++i;
    if (i == piece.size()) return;
    if (piece[i] == '[') {
      mode_ = Mode::array;
      ++i;
    } else {
      mode_ = Mode::whole;
    }
  }
  if (mode_ == Mode::whole) {
    keep(piece.substr(i));
    return;
  }
  std::size_t begin = 0;  // where the current element's bytes start in this piece
  for (; i < piece.size(); ++i) {
    const char c = piece[i];
    if (!in_value_) {
      if (is_space(c) || (c == ',' && !closed_)) continue;
      if (closed_) {
        garbage_ = true;
        return;
      }
      if (c == ']') {
        closed_ = true;
        continue;
      }
      in_value_ = true;
      depth_ = 0;
      begin = i;
    }
    // Brackets inside strings do not count; escapes can hide a quote.
    if (in_string_) {
      if (escape_)
        escape_ = false;
      else if (c == '\\')
        escape_ = true;
      else if (c == '"')
        in_string_ = false;
      continue;
    }
    if (c == '"') {
      in_string_ = true;
    } else if (c == '{' || c == '[') {
      ++depth_;
    } else if (c == '}' || c == ']') {
      if (depth_ > 0) {
        if (--depth_ == 0) element_done(piece, begin, i + 1);
      } else {
        // A scalar element ends at the bracket after it; only ']' may close the array there.
        element_done(piece, begin, i);
        if (c == ']')
          closed_ = true;
        else
          garbage_ = true;
      }
    } else if (depth_ == 0 && (c == ',' || is_space(c))) {
      element_done(piece, begin, i);  // the end of a scalar element
    }
    if (overflow_ || garbage_) return;
  }
  if (in_value_) keep(piece.substr(begin));
}

}  // namespace shadowmeter::providers
