// Incremental text/event-stream (Server-Sent Events) parser per the WHATWG HTML spec.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace shadowmeter::sse {

struct Event {
  std::string_view type;  // "message" when no event: field was given
  std::string_view data;  // data: lines joined with '\n'
  std::string_view id;
};

struct Stats {
  std::uint64_t events = 0;
  std::uint64_t oversized = 0;  // events dropped because they passed max_event_bytes
};

class Parser {
 public:
  using Callback = std::function<void(const Event&)>;
  explicit Parser(Callback cb, std::size_t max_event_bytes = 4u << 20);
  // Arbitrary splits, including inside CRLF; handles CR, LF and CRLF line ends and a leading BOM.
  void feed(std::string_view bytes);
  // End of stream: a pending event without its blank line is discarded, per the spec.
  void finish();
  // Bytes were lost: drop the partial event and resume at the next event boundary.
  void gap();
  const Stats& stats() const { return stats_; }

 private:
  void scan(std::string_view bytes);
  void end_of_line(std::string_view tail);
  void line(std::string_view l);
  void dispatch();
  void start_skipping();
  void clear_event();
  Callback cb_;
  std::size_t max_event_bytes_;
  std::string pending_line_;
  std::string data_;
  std::string type_;
  std::string id_;
  bool saw_cr_ = false;
  bool bom_checked_ = false;
  bool skipping_ = false;  // oversize or after gap: skip until a blank line
  bool has_data_ = false;
  bool line_dropped_ = false;   // the current line had bytes that were skipped: it is not blank
  std::uint8_t bom_matched_ = 0;  // leading bytes that matched the UTF-8 BOM so far
  Stats stats_;
};

}  // namespace shadowmeter::sse
