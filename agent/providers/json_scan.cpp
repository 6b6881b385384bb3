#include "providers/json_scan.h"

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace shadowmeter::providers {
namespace {

using json = nlohmann::json;

// SAX handler that keeps only the current key path; string values are handed out by reference to
// the lexer's buffer and dropped at once.
//
// A number that runs into the end of a cut text may itself be cut ("1234" seen as "12"), and the
// lexer cannot tell. So a number is held back until the next event proves a delimiter followed it.
class PathSax {
 public:
  using Frame = JsonScanner::Frame;
  PathSax(JsonVisitor& v, std::size_t text_size, std::string& path, std::vector<Frame>& frames)
      : v_(v), text_size_(text_size), path_(path), frames_(frames) {
    path_.clear();
    frames_.clear();
  }

  bool null() {
    flush();
    v_.on_null(path_);
    return true;
  }
  bool boolean(bool b) {
    flush();
    v_.on_bool(path_, b);
    return true;
  }
  bool number_integer(json::number_integer_t n) {
    hold(n);
    return true;
  }
  bool number_unsigned(json::number_unsigned_t n) {
    if (n <= static_cast<json::number_unsigned_t>(std::numeric_limits<std::int64_t>::max()))
      hold(static_cast<std::int64_t>(n));
    else
      flush();
    return true;
  }
  bool number_float(json::number_float_t f, const json::string_t& /*text*/) {
    // 2^63 is exactly representable; anything at or above it does not fit.
    if (std::isfinite(f) && f >= -9.2233720368547758e18 && f < 9.2233720368547758e18 && std::trunc(f) == f)
      hold(static_cast<std::int64_t>(f));
    else
      flush();
    return true;
  }
  bool string(json::string_t& s) {
    flush();
    v_.on_string(path_, s);
    return true;
  }
  bool binary(json::binary_t& /*b*/) { return true; }
  bool start_object(std::size_t /*n*/) {
    flush();
    frames_.push_back({path_.size(), path_.size()});
    return true;
  }
  bool key(json::string_t& k) {
    flush();
    path_.resize(frames_.back().base);
    if (!path_.empty()) path_.push_back('.');
    path_.append(k);
    return true;
  }
  bool end_object() {
    flush();
    path_.resize(frames_.back().restore);
    frames_.pop_back();
    v_.on_object_end(path_);
    return true;
  }
  bool start_array(std::size_t /*n*/) {
    flush();
    const std::size_t restore = path_.size();
    path_.append(path_.empty() ? "[]" : ".[]");
    frames_.push_back({path_.size(), restore});
    return true;
  }
  bool end_array() {
    flush();
    path_.resize(frames_.back().restore);
    frames_.pop_back();
    return true;
  }
  bool parse_error(std::size_t position, const std::string& /*last_token*/,
                   const nlohmann::detail::exception& /*ex*/) {
    // The lexer reports running out of input one past the last byte.
    result_ = position > text_size_ ? ScanResult::truncated : ScanResult::invalid;
    held_ = false;
    return false;
  }

  // After a successful parse: a top-level number is complete once the text ended without error.
  void finish() { flush(); }
  ScanResult result() const { return result_; }

 private:
  void hold(std::int64_t n) {
    flush();
    held_ = true;
    held_value_ = n;
  }
  void flush() {
    if (!held_) return;
    held_ = false;
    v_.on_integer(path_, held_value_);  // every event that moves the path flushes first
  }

  JsonVisitor& v_;
  std::size_t text_size_;
  std::string& path_;
  std::vector<Frame>& frames_;
  ScanResult result_ = ScanResult::ok;
  bool held_ = false;
  std::int64_t held_value_ = 0;
};

}  // namespace

ScanResult scan_json(std::string_view text, JsonVisitor& visitor) {
  JsonScanner scanner;
  return scanner.scan(text, visitor);
}

ScanResult JsonScanner::scan(std::string_view text, JsonVisitor& visitor) {
  PathSax sax(visitor, text.size(), path_, frames_);
  json::sax_parse(text.begin(), text.end(), &sax, nlohmann::detail::input_format_t::json, true, false);
  if (sax.result() == ScanResult::ok) sax.finish();
  return sax.result();
}

}  // namespace shadowmeter::providers
