// Reads the few fields providers need out of a JSON body without building a document: bodies carry
// prompt and completion text that must not be kept, and a body cut by the capture still yields the
// fields that were complete before the cut.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::providers {

// Paths name object keys joined by '.', array elements as "[]": "usage.prompt_tokens",
// "choices.[].finish_reason". The root value has the empty path.
class JsonVisitor {
 public:
  virtual ~JsonVisitor() = default;
  virtual void on_string(std::string_view /*path*/, std::string_view /*value*/) {}
  // Integers, and floats that hold a whole number (some servers send 12.0 for a count).
  virtual void on_integer(std::string_view /*path*/, std::int64_t /*value*/) {}
  virtual void on_bool(std::string_view /*path*/, bool /*value*/) {}
  virtual void on_null(std::string_view /*path*/) {}
  // An object was closed: everything inside it has been reported.
  virtual void on_object_end(std::string_view /*path*/) {}
};

enum class ScanResult : std::uint8_t {
  ok,         // one complete JSON value
  truncated,  // valid as far as it goes, the text ended inside the value
  invalid,    // a syntax error before the end of the text (or trailing garbage)
};

// Keeps its path buffers between scans, so a session scanning one SSE event after another does not
// allocate for them each time.
class JsonScanner {
 public:
  ScanResult scan(std::string_view text, JsonVisitor& visitor);

  struct Frame {
    std::size_t base;     // path length under which this container's children are named
    std::size_t restore;  // path length to go back to when it closes
  };

 private:
  std::string path_;
  std::vector<Frame> frames_;
};

ScanResult scan_json(std::string_view text, JsonVisitor& visitor);

}  // namespace shadowmeter::providers
