// A bounded on-disk spool for events waiting to be shipped: append-only segment files of
// length- and checksum-framed records, released only when the collector has acknowledged them
// (at-least-once). Survives restarts and kill -9; a torn tail or a corrupt record is skipped and
// counted, never fatal. Single-threaded: the owner serialises calls.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shadowmeter::exporting {

enum class FsyncPolicy : std::uint8_t {
  every_append,  // fsync after each append: nothing acknowledged to the kernel is lost on power loss
  on_flush,      // fsync when flush() is called (the exporter flushes before each send): default
  never,         // leave it to the kernel (tests, tmpfs)
};

// segment_bytes and max_record_bytes are capped at 1 GiB each so that an offset in a segment fits
// in the low 32 bits of a Batch cursor.
struct SpoolOptions {
  std::string dir;                            // created 0700 if absent
  std::uint64_t max_bytes = 256ull << 20;     // all segments together; beyond it appends are dropped
  std::uint64_t segment_bytes = 8ull << 20;   // a new segment starts past this size
  std::uint32_t max_record_bytes = 4u << 20;  // a longer record is refused (counted as dropped)
  FsyncPolicy fsync = FsyncPolicy::on_flush;
};

struct SpoolStats {
  std::uint64_t appended = 0;         // records accepted since start
  std::uint64_t acked = 0;            // records released after acknowledgement since start
  std::uint64_t dropped_full = 0;     // records refused: spool full or record too long
  std::uint64_t corrupt_records = 0;  // records skipped at recovery or read: bad checksum or length
  std::uint64_t torn_tails = 0;       // segments whose last record was cut (crash mid-write), truncated
  std::uint64_t pending_records = 0;  // appended and not yet acknowledged (recovered ones included)
  std::uint64_t bytes = 0;            // on disk now
  std::uint64_t segments = 0;
  std::uint64_t io_errors = 0;         // failed reads, writes, fsyncs, renames, deletions (caller logs)
  std::uint64_t ack_file_corrupt = 0;  // ack file unreadable or inconsistent: resent from the oldest
};

class Spool {
 public:
  // Opens (recovering what a previous run left) or creates the spool. Throws std::runtime_error
  // naming the directory when it cannot be used at all.
  explicit Spool(SpoolOptions options);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // false (and counted in dropped_full) when the spool is full or the record too long.
  bool append(std::string_view record);
  // Makes appended records durable per the fsync policy.
  void flush();

  struct Batch {
    std::vector<std::string> records;  // oldest first
    std::uint64_t end = 0;             // opaque cursor: just past the last record of the batch
    bool empty() const { return records.empty(); }
  };
  // The oldest unacknowledged records (at most max_records, and at most max_bytes unless a single
  // record is larger), without releasing them: the same records come back until acknowledged.
  Batch peek(std::size_t max_records, std::size_t max_bytes);
  // Everything up to batch.end is acknowledged: released (whole segments deleted, the read position
  // persisted so a restart does not resend it).
  void ack(const Batch& batch);

  SpoolStats stats() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shadowmeter::exporting
