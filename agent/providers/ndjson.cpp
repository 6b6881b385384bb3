#include "providers/ndjson.h"
#include "providers/text_util.h"

namespace shadowmeter::providers {

bool NdjsonLines::deliver(std::string_view part, std::string_view& line) {
  if (skipping_) {  // the end of an oversized line
    skipping_ = false;
    return false;
  }
  if (!buf_.empty()) {
    if (buf_.size() + part.size() > max_line_) {
      ++oversized_;
      std::string().swap(buf_);
      return false;
    }
    buf_.append(part);
    part = buf_;
    consumed_ = true;  // cleared on the next call, after the caller is done with the line
  } else if (part.size() > max_line_) {
    ++oversized_;
    return false;
  }
  if (trim(part).empty()) return false;
  if (part.back() == '\r') part.remove_suffix(1);
  line = part;
  return true;
}

void NdjsonLines::skip_line() {
  ++oversized_;
  skipping_ = true;
  std::string().swap(buf_);  // give the memory back rather than keep a 4 MiB buffer
}

bool NdjsonLines::next(std::string_view& in, std::string_view& line) {
  while (!in.empty()) {
    if (consumed_) {
      buf_.clear();
      consumed_ = false;
    }
    const auto nl = in.find('\n');
    if (nl == std::string_view::npos) {
      if (!skipping_) {
        if (buf_.size() + in.size() > max_line_)
          skip_line();
        else
          buf_.append(in);
      }
      in = {};
      return false;
    }
    const std::string_view part = in.substr(0, nl);
    in.remove_prefix(nl + 1);
    if (deliver(part, line)) return true;
  }
  return false;
}

bool NdjsonLines::last(std::string_view& line) {
  if (consumed_) {
    buf_.clear();
    consumed_ = false;
  }
  if (skipping_ || trim(buf_).empty()) return false;
  line = buf_;
  if (line.back() == '\r') line.remove_suffix(1);
  consumed_ = true;
  return true;
}

}  // namespace shadowmeter::providers
