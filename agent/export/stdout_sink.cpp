#include "export/sink.h"

namespace shadowmeter::exporting {

StdoutSink::StdoutSink(std::FILE* out, bool line_buffered) : out_(out), line_buffered_(line_buffered) {}

void StdoutSink::emit(const UsageEvent& e) {
  // Header values and command lines are not guaranteed UTF-8; replace bad bytes rather than throw.
  std::string line = to_json(e).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line.push_back('\n');
  // One fwrite per line so a reader never sees half an event from us.
  if (std::fwrite(line.data(), 1, line.size(), out_) != line.size()) return;
  if (line_buffered_) std::fflush(out_);
  ++written_;
}

void StdoutSink::flush() { std::fflush(out_); }

}  // namespace shadowmeter::exporting
