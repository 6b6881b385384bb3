// Newline-delimited JSON (application/x-ndjson) bodies, as Ollama and Cohere v1 stream them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace shadowmeter::providers {

// Splits an NDJSON body that arrives in arbitrary pieces into lines, holding at most one partial
// line of at most `max_line` bytes: a longer line is skipped whole and counted.
class NdjsonLines {
 public:
  static constexpr std::size_t kDefaultMaxLine = 4u << 20;
  explicit NdjsonLines(std::size_t max_line = kDefaultMaxLine) : max_line_(max_line) {}

  // Consumes `in` up to the end of the next complete non-blank line and sets `line` to it (without
  // its line end; valid until the next call). Returns false once `in` is used up with no line.
  bool next(std::string_view& in, std::string_view& line);
  // At the end of the body: the last line when it had no line end (whole only if the body was).
  bool last(std::string_view& line);

  std::uint64_t oversized() const { return oversized_; }

 private:
  bool deliver(std::string_view part, std::string_view& line);
  void skip_line();

  std::size_t max_line_;
  std::string buf_;        // the partial line carried between pieces
  bool consumed_ = false;  // buf_ was handed out as a line: clear it on the next call
  bool skipping_ = false;  // inside an oversized line: drop bytes up to its end
  std::uint64_t oversized_ = 0;
};

}  // namespace shadowmeter::providers
