// Spool layout and recovery.
//
// The directory holds segment files "seg-<20-digit sequence>.log" and an "ack" file. A segment is
// a run of records, each framed as
//     [u32 LE magic "SMR1"][u32 LE payload length][u32 LE crc32 of the payload][payload]
// written with a single O_APPEND write. Empty payloads are valid records.
//
// Recovery (constructor) validates every segment from its start:
//  - the file ends inside a record (fewer than 12 header bytes left, or a plausible length that
//    runs past the end) in the NEWEST segment: a write cut by a crash. The file is truncated there
//    and counted in torn_tails; the complete records before it survive.
//  - a bad magic, a length no configuration could have written, a bad crc, or (in an older,
//    closed segment) a length running past the end: a corrupt record, counted in corrupt_records.
//    The crc covers only the payload, so a bad crc may equally be a damaged length field: the
//    framing after it cannot be trusted, and the rest of that segment is skipped (left on disk,
//    never read, deleted once the acknowledged position passes it).
// Each run appends to a segment of its own, so a recovered segment is never written again.
//
// The ack file holds the acknowledged position (segment sequence, offset) with a crc. It is
// written to "ack.tmp", fsynced and renamed over "ack", so it is either the old or the new one.
// Segments wholly before the position are deleted (after the ack file is durable, so a crash in
// between at worst deletes them at the next start). A missing ack file means nothing was ever
// acknowledged; a corrupt one restarts from the oldest segment (at-least-once) and is counted.
//
// Full: appends are refused when all segment bytes on disk plus the new record exceed max_bytes.
// A segment that is acknowledged to its end is deleted, the one being written included, so
// acknowledging everything always gives the space back.
//
// A Batch cursor encodes (sequence << 32 | offset); offsets fit because segment and record sizes
// are capped at 1 GiB. I/O errors after start-up never throw: they are counted in io_errors.
#include "export/spool/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <utility>

#include "export/spool/frame.h"

namespace shadowmeter::exporting {

using spool::Position;

namespace {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      reset();
      fd_ = std::exchange(o.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Reads exactly size bytes at offset; false on error or end of file.
bool pread_full(int fd, char* out, std::size_t size, std::uint64_t offset) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return true;
}

bool write_full(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

enum class CrcCheck { ok, mismatch, io_error };

// Checks a payload's crc reading it in small chunks, so recovery never holds a whole record.
CrcCheck check_crc(int fd, std::uint64_t offset, std::uint32_t length, std::uint32_t expected) {
  std::array<char, 64 * 1024> chunk{};
  std::uint32_t crc = spool::crc32_begin();
  while (length > 0) {
    const std::size_t n = std::min<std::size_t>(length, chunk.size());
    if (!pread_full(fd, chunk.data(), n, offset)) return CrcCheck::io_error;
    crc = spool::crc32_update(crc, chunk.data(), n);
    offset += n;
    length -= static_cast<std::uint32_t>(n);
  }
  return crc == expected ? CrcCheck::ok : CrcCheck::mismatch;
}

struct Segment {
  std::uint64_t seq = 0;
  std::uint64_t size = 0;       // bytes on disk
  std::uint64_t valid_end = 0;  // records are read up to here (before a corrupt record, if any)
};

// What recovery learnt about one segment.
struct ScanResult {
  Segment segment;
  std::uint64_t records = 0;        // valid records in the segment
  std::uint64_t records_after = 0;  // of those, starting at or after the probe offset
  bool probe_on_boundary = false;   // the probe offset is a record start or the valid end
};

}  // namespace

struct Spool::Impl {
  SpoolOptions opt;
  SpoolStats st;
  UniqueFd dir;
  std::deque<Segment> segs;  // oldest first; sequences increasing
  UniqueFd write_fd;         // open on segs.back() when `writing`
  bool writing = false;
  bool dirty = false;  // written since the last fsync
  UniqueFd read_fd;
  std::uint64_t read_seq = UINT64_MAX;
  Position ack;  // everything before it is acknowledged
  std::uint64_t next_seq = 1;
  std::string frame;  // reused append buffer

  explicit Impl(SpoolOptions o) : opt(std::move(o)) {
    opt.segment_bytes = std::clamp<std::uint64_t>(opt.segment_bytes, 1, spool::kHardMaxSegmentBytes);
    opt.max_record_bytes = std::min(opt.max_record_bytes, spool::kHardMaxRecordBytes);
    open_dir();
    recover();
  }

  ~Impl() {
    if (opt.fsync == FsyncPolicy::on_flush) flush();
  }

  bool syncing() const { return opt.fsync != FsyncPolicy::never; }

  void open_dir() {
    if (opt.dir.empty()) throw std::runtime_error("spool: no directory configured");
    if (::mkdir(opt.dir.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error("spool: cannot create " + opt.dir + ": " + std::strerror(errno));
    dir = UniqueFd(::open(opt.dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir) throw std::runtime_error("spool: cannot open " + opt.dir + ": " + std::strerror(errno));
    // Probe that we may create files here: a read-only spool is unusable.
    if (::faccessat(dir.get(), ".", W_OK | X_OK, 0) != 0)
      throw std::runtime_error("spool: cannot write to " + opt.dir + ": " + std::strerror(errno));
  }

  void sync_dir() {
    if (syncing() && ::fsync(dir.get()) != 0) ++st.io_errors;
  }

  std::optional<Position> load_ack() {
    UniqueFd fd(::openat(dir.get(), "ack", O_RDONLY | O_CLOEXEC));
    if (!fd) {
      if (errno != ENOENT) ++st.ack_file_corrupt;
      return std::nullopt;
    }
    std::string bytes(spool::kAckBytes + 1, '\0');  // one more: a longer file is corrupt
    std::size_t got = 0;
    while (got < bytes.size()) {
      const ssize_t n = ::read(fd.get(), bytes.data() + got, bytes.size() - got);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      got += static_cast<std::size_t>(n);
    }
    bytes.resize(got);
    auto p = spool::decode_ack(bytes);
    if (!p) ++st.ack_file_corrupt;
    return p;
  }

  // Validates a segment from its start; see the comment at the top for torn versus corrupt.
  ScanResult scan(std::uint64_t seq, bool newest, std::uint64_t probe) {
    ScanResult r;
    r.segment.seq = seq;
    const std::string name = spool::segment_name(seq);
    UniqueFd fd(::openat(dir.get(), name.c_str(), O_RDWR | O_CLOEXEC));
    struct stat sb {};
    if (!fd || ::fstat(fd.get(), &sb) != 0) {
      ++st.io_errors;  // kept with nothing readable; deleted once acknowledged past
      return r;
    }
    const auto size = static_cast<std::uint64_t>(sb.st_size);
    r.segment.size = size;
    std::uint64_t pos = 0;
    auto torn = [&] {
      if (::ftruncate(fd.get(), static_cast<off_t>(pos)) == 0) {
        r.segment.size = pos;
        ++st.torn_tails;
        if (syncing() && ::fsync(fd.get()) != 0) ++st.io_errors;
      } else {
        ++st.io_errors;
      }
    };
    while (pos < size) {
      const std::uint64_t left = size - pos;
      if (left < spool::kHeaderBytes) {
        if (newest)
          torn();
        else
          ++st.corrupt_records;
        break;
      }
      std::array<char, spool::kHeaderBytes> raw{};
      if (!pread_full(fd.get(), raw.data(), raw.size(), pos)) {
        ++st.io_errors;
        break;
      }
      const auto h = spool::decode_header(raw.data());
      if (h.magic != spool::kRecordMagic || h.length > spool::kHardMaxRecordBytes) {
        ++st.corrupt_records;
        break;
      }
      if (h.length > left - spool::kHeaderBytes) {
        if (newest)
          torn();
        else
          ++st.corrupt_records;
        break;
      }
      const CrcCheck c = check_crc(fd.get(), pos + spool::kHeaderBytes, h.length, h.crc);
      if (c != CrcCheck::ok) {
        ++(c == CrcCheck::mismatch ? st.corrupt_records : st.io_errors);
        break;
      }
      if (pos >= probe) ++r.records_after;
      if (pos == probe) r.probe_on_boundary = true;
      ++r.records;
      pos += spool::kHeaderBytes + h.length;
    }
    r.segment.valid_end = pos;
    if (pos == probe) r.probe_on_boundary = true;
    return r;
  }

  void recover() {
    ::unlinkat(dir.get(), "ack.tmp", 0);  // a rename that never happened
    const std::optional<Position> saved = load_ack();

    std::vector<std::uint64_t> seqs;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(opt.dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code type_ec;
      if (!it->is_regular_file(type_ec)) continue;
      if (auto seq = spool::parse_segment_name(it->path().filename().string())) seqs.push_back(*seq);
    }
    if (ec) throw std::runtime_error("spool: cannot list " + opt.dir + ": " + ec.message());
    std::sort(seqs.begin(), seqs.end());
    if (!seqs.empty()) next_seq = seqs.back() + 1;
    if (saved) next_seq = std::max(next_seq, saved->seq + 1);

    bool have_ack = saved.has_value();
    ack = saved.value_or(Position{});
    std::uint64_t pending = 0;
    std::vector<ScanResult> scanned;
    for (const std::uint64_t seq : seqs) {
      if (have_ack && seq < ack.seq) {  // acknowledged before a crash cut the deletion short
        if (::unlinkat(dir.get(), spool::segment_name(seq).c_str(), 0) != 0) ++st.io_errors;
        continue;
      }
      const std::uint64_t probe = have_ack && seq == ack.seq ? ack.offset : 0;
      scanned.push_back(scan(seq, seq == seqs.back(), probe));
    }
    for (const ScanResult& r : scanned) {
      if (have_ack && r.segment.seq == ack.seq) {
        if (ack.offset >= r.segment.valid_end) {
          ack.offset = r.segment.valid_end;  // records past it were lost unsynced: nothing pending here
        } else if (!r.probe_on_boundary) {
          // A crc-valid ack inside a record: the segment changed under it. Resend it all.
          ++st.ack_file_corrupt;
          have_ack = false;
        }
      }
      segs.push_back(r.segment);
      st.bytes += r.segment.size;
    }
    if (!have_ack) ack = Position{.seq = segs.empty() ? next_seq : segs.front().seq, .offset = 0};
    for (const ScanResult& r : scanned) {
      if (r.segment.seq > ack.seq)
        pending += r.records;
      else if (r.segment.seq == ack.seq)
        pending += have_ack ? r.records_after : r.records;
    }
    st.pending_records = pending;
    release_acknowledged();
    sync_dir();  // truncations and deletions above
  }

  // Deletes the segments the acknowledged position has passed, the open one included.
  void release_acknowledged() {
    bool deleted = false;
    while (!segs.empty()) {
      const Segment& front = segs.front();
      const bool passed = front.seq < ack.seq || (front.seq == ack.seq && ack.offset >= front.valid_end);
      if (!passed) break;
      if (writing && segs.size() == 1) {
        write_fd.reset();
        writing = false;
        dirty = false;
      }
      if (read_seq == front.seq) {
        read_fd.reset();
        read_seq = UINT64_MAX;
      }
      if (::unlinkat(dir.get(), spool::segment_name(front.seq).c_str(), 0) != 0) ++st.io_errors;
      if (front.seq == ack.seq) ack = Position{.seq = front.seq + 1, .offset = 0};
      st.bytes -= std::min(st.bytes, front.size);
      segs.pop_front();
      deleted = true;
    }
    if (deleted) sync_dir();
  }

  void persist_ack() {
    const std::string bytes = spool::encode_ack(ack);
    UniqueFd fd(::openat(dir.get(), "ack.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd || !write_full(fd.get(), bytes.data(), bytes.size()) || (syncing() && ::fsync(fd.get()) != 0) ||
        ::renameat(dir.get(), "ack.tmp", dir.get(), "ack") != 0) {
      ++st.io_errors;
      return;
    }
    sync_dir();
  }

  bool start_segment() {
    if (writing && dirty && syncing() && ::fdatasync(write_fd.get()) != 0) ++st.io_errors;
    write_fd.reset();
    writing = false;
    dirty = false;
    const std::uint64_t seq = next_seq;
    if (seq > UINT32_MAX) return false;  // cursors hold 32-bit sequences; unreachable in practice
    UniqueFd fd(::openat(dir.get(), spool::segment_name(seq).c_str(),
                         O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
    if (!fd) return false;
    ++next_seq;
    write_fd = std::move(fd);
    writing = true;
    segs.push_back(Segment{.seq = seq});
    sync_dir();
    return true;
  }

  bool append(std::string_view record) {
    const std::uint64_t framed = spool::kHeaderBytes + record.size();
    if (record.size() > opt.max_record_bytes || st.bytes + framed > opt.max_bytes) {
      ++st.dropped_full;
      return false;
    }
    if ((!writing || segs.back().size >= opt.segment_bytes) && !start_segment()) {
      ++st.io_errors;
      return false;
    }
    frame.resize(framed);
    spool::encode_header(frame.data(), static_cast<std::uint32_t>(record.size()),
                         spool::crc32_update(spool::crc32_begin(), record.data(), record.size()));
    if (!record.empty()) std::memcpy(frame.data() + spool::kHeaderBytes, record.data(), record.size());
    Segment& seg = segs.back();
    if (!write_full(write_fd.get(), frame.data(), frame.size())) {
      ++st.io_errors;
      // Take back a partial record; if that fails too, leave the tail to the next recovery and
      // write elsewhere: readers stop at valid_end either way.
      struct stat sb {};
      if (::ftruncate(write_fd.get(), static_cast<off_t>(seg.size)) != 0) {
        if (::fstat(write_fd.get(), &sb) == 0) {
          const auto now = static_cast<std::uint64_t>(sb.st_size);
          st.bytes += now - std::min(now, seg.size);
          seg.size = std::max(seg.size, now);
        }
        write_fd.reset();
        writing = false;
      }
      return false;
    }
    seg.size += framed;
    seg.valid_end = seg.size;
    st.bytes += framed;
    ++st.appended;
    ++st.pending_records;
    if (opt.fsync == FsyncPolicy::every_append) {
      if (::fdatasync(write_fd.get()) != 0) ++st.io_errors;
    } else {
      dirty = true;
    }
    return true;
  }

  void flush() {
    if (writing && dirty && syncing() && ::fdatasync(write_fd.get()) != 0) ++st.io_errors;
    dirty = false;
  }

  int reader(std::uint64_t seq) {
    if (read_seq != seq) {
      read_fd = UniqueFd(::openat(dir.get(), spool::segment_name(seq).c_str(), O_RDONLY | O_CLOEXEC));
      read_seq = read_fd ? seq : UINT64_MAX;
    }
    return read_fd.get();
  }

  std::size_t first_segment_at_or_after(std::uint64_t seq) const {
    const auto it = std::lower_bound(segs.begin(), segs.end(), seq,
                                     [](const Segment& s, std::uint64_t v) { return s.seq < v; });
    return static_cast<std::size_t>(it - segs.begin());
  }

  // A record found broken while reading (the file changed since it was validated): stop reading
  // this segment there and recount what is still readable.
  void corrupt_at(std::size_t index, std::uint64_t offset) {
    ++st.corrupt_records;
    segs[index].valid_end = offset;
    if (writing && index + 1 == segs.size()) {
      write_fd.reset();
      writing = false;
    }
    st.pending_records = count_records(ack, nullptr).value_or(0);
  }

  // Walks record headers from `from`. With a `to` (a pointer, so that no optional is read when
  // disengaged): the number of records before it, or nothing when `to` is not a record boundary
  // ahead. Without: the number of records to the end.
  std::optional<std::uint64_t> count_records(Position from, const Position* to) {
    std::uint64_t n = 0;
    for (std::size_t i = first_segment_at_or_after(from.seq); i < segs.size(); ++i) {
      const Segment& s = segs[i];
      std::uint64_t pos = s.seq == from.seq ? from.offset : 0;
      if (to != nullptr && s.seq > to->seq) return std::nullopt;
      while (pos < s.valid_end) {
        if (to != nullptr && *to == Position{s.seq, pos}) return n;
        std::array<char, spool::kHeaderBytes> raw{};
        const int fd = reader(s.seq);
        if (fd < 0 || !pread_full(fd, raw.data(), raw.size(), pos)) {
          ++st.io_errors;
          return to != nullptr ? std::nullopt : std::optional<std::uint64_t>(n);
        }
        const auto h = spool::decode_header(raw.data());
        if (h.magic != spool::kRecordMagic || pos + spool::kHeaderBytes + h.length > s.valid_end) break;
        pos += spool::kHeaderBytes + h.length;
        ++n;
      }
      if (to != nullptr && *to == Position{s.seq, pos}) return n;
    }
    if (to != nullptr) return std::nullopt;
    return n;
  }

  Batch peek(std::size_t max_records, std::size_t max_bytes) {
    Batch b;
    b.end = spool::encode_cursor(ack);
    std::size_t total = 0;
    std::size_t i = first_segment_at_or_after(ack.seq);
    std::uint64_t pos = i < segs.size() && segs[i].seq == ack.seq ? ack.offset : 0;
    while (i < segs.size() && b.records.size() < max_records) {
      const Segment& s = segs[i];
      if (pos >= s.valid_end) {
        ++i;
        pos = 0;
        continue;
      }
      const int fd = reader(s.seq);
      std::array<char, spool::kHeaderBytes> raw{};
      if (fd < 0 || !pread_full(fd, raw.data(), raw.size(), pos)) {
        ++st.io_errors;
        break;
      }
      const auto h = spool::decode_header(raw.data());
      if (h.magic != spool::kRecordMagic || h.length > spool::kHardMaxRecordBytes ||
          pos + spool::kHeaderBytes + h.length > s.valid_end) {
        corrupt_at(i, pos);
        continue;
      }
      if (!b.records.empty() && total + h.length > max_bytes) break;
      std::string payload(h.length, '\0');
      if (!pread_full(fd, payload.data(), payload.size(), pos + spool::kHeaderBytes)) {
        ++st.io_errors;
        break;
      }
      if (spool::crc32_update(spool::crc32_begin(), payload.data(), payload.size()) != h.crc) {
        corrupt_at(i, pos);
        continue;
      }
      total += h.length;
      pos += spool::kHeaderBytes + h.length;
      b.records.push_back(std::move(payload));
      b.end = spool::encode_cursor({s.seq, pos});
    }
    return b;
  }

  void acknowledge(const Batch& batch) {
    const Position to = spool::decode_cursor(batch.end);
    if (!(ack < to)) return;  // stale or empty batch
    const auto n = count_records(ack, &to);
    if (!n) return;  // not a position of this spool
    ack = to;
    st.acked += *n;
    st.pending_records -= std::min(st.pending_records, *n);
    persist_ack();  // durable before any deletion
    release_acknowledged();
  }
};

Spool::Spool(SpoolOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Spool::~Spool() = default;

bool Spool::append(std::string_view record) { return impl_->append(record); }
void Spool::flush() { impl_->flush(); }
Spool::Batch Spool::peek(std::size_t max_records, std::size_t max_bytes) {
  return impl_->peek(max_records, max_bytes);
}
void Spool::ack(const Batch& batch) { impl_->acknowledge(batch); }

SpoolStats Spool::stats() const {
  SpoolStats s = impl_->st;
  s.segments = impl_->segs.size();
  return s;
}

}  // namespace shadowmeter::exporting
