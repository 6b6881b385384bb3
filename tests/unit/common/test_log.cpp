// Log line format: sd-daemon priority prefixes only when stderr is the journal's stream.
#include "common/log.h"

#include <catch2/catch.hpp>

using namespace shadowmeter::log;

TEST_CASE("JOURNAL_STREAM names stderr's device and inode") {
  CHECK(journal_stream_matches("8:12345", 8, 12345));
  CHECK(journal_stream_matches("0:18446744073709551615", 0, 18446744073709551615ull));
  CHECK_FALSE(journal_stream_matches("8:12345", 8, 12346));  // stderr redirected elsewhere
  CHECK_FALSE(journal_stream_matches("9:12345", 8, 12345));
  CHECK_FALSE(journal_stream_matches("", 0, 0));
  CHECK_FALSE(journal_stream_matches(":", 0, 0));
  CHECK_FALSE(journal_stream_matches("8:", 8, 0));
  CHECK_FALSE(journal_stream_matches(":5", 0, 5));
  CHECK_FALSE(journal_stream_matches("8:5:1", 8, 5));
  CHECK_FALSE(journal_stream_matches("0x8:5", 8, 5));
  CHECK_FALSE(journal_stream_matches("8:-5", 8, 5));
  CHECK_FALSE(journal_stream_matches("8:18446744073709551616", 8, 0));  // 2^64 overflows
  CHECK_FALSE(journal_stream_matches("8:99999999999999999999", 8, 7766279631452241919ull));
}

TEST_CASE("journal lines carry the priority, others the level word") {
  CHECK(format_line(Level::error, "disk full", true) == "<3>disk full\n");
  CHECK(format_line(Level::warn, "slow", true) == "<4>slow\n");
  CHECK(format_line(Level::info, "started", true) == "<6>started\n");
  CHECK(format_line(Level::debug, "x", true) == "<7>x\n");
  CHECK(format_line(Level::error, "disk full", false) == "error: disk full\n");
  CHECK(format_line(Level::warn, "slow", false) == "warning: slow\n");
  CHECK(format_line(Level::info, "started", false) == "info: started\n");
  CHECK(format_line(Level::debug, "x", false) == "debug: x\n");
  // journald makes an entry of each line: each keeps the priority.
  CHECK(format_line(Level::error, "cannot start:\n  tracefs: no", true) == "<3>cannot start:\n<3>  tracefs: no\n");
  CHECK(format_line(Level::error, "cannot start:\n  tracefs: no", false) == "error: cannot start:\n  tracefs: no\n");
}
