// Where finished usage events go.
#pragma once

#include <cstdio>

#include "export/usage_event.h"

namespace shadowmeter::exporting {

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void emit(const UsageEvent& e) = 0;
  virtual void flush() = 0;
};

// One JSON object per line. Writes whole lines; flushes each line when `line_buffered`.
class StdoutSink final : public EventSink {
 public:
  explicit StdoutSink(std::FILE* out = stdout, bool line_buffered = true);
  void emit(const UsageEvent& e) override;
  void flush() override;
  std::uint64_t written() const { return written_; }

 private:
  std::FILE* out_;
  bool line_buffered_;
  std::uint64_t written_ = 0;
};

}  // namespace shadowmeter::exporting
