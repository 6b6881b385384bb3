#include "protocols/http1/http1_parser.h"
#include "protocols/secure_clear.h"

#include <algorithm>
#include <optional>

#include "protocols/http1/body_pipeline.h"
#include "protocols/http1/chunked_decoder.h"
#include "protocols/http1/syntax.h"

namespace shadowmeter::http1 {
namespace {

enum class State : std::uint8_t {
  head,    // start line and header lines, or between messages
  resync,  // out of step: skipping lines until one ends with a message start
  body_length,
  body_chunked,
  body_close,   // body delimited by the end of the connection
  skip_length,  // rest of a Content-Length body whose message already ended at a gap
  skip_close,   // rest of a close-delimited body whose message already ended at a gap
  upgraded,     // not HTTP/1 any more
};

enum class Framing : std::uint8_t { none, length, chunked, close };

// Trailers and chunk extensions are skipped, never stored; an extension line longer than this is
// not something a real client sends.
constexpr std::size_t kMaxChunkExtensionBytes = 4096;

}  // namespace

struct Parser::Impl {
  Impl(Role r, MessageSink& s, const Limits& l)
      : role(r),
        sink(s),
        limits(l),
        chunked(kMaxChunkExtensionBytes, l.max_head_bytes),
        body(s, limits, stats) {}

  void feed(std::string_view in);
  std::size_t step(std::string_view in);
  std::size_t head_bytes_in(std::string_view in);
  std::size_t resync_bytes_in(std::string_view in);
  void keep_line_tail(std::string_view bytes);
  bool adopt_start(std::string_view line, std::size_t with_eol);
  void on_line(std::string_view line, std::size_t with_eol);
  void malformed_line(std::string_view line, std::size_t with_eol);
  void head_too_long();
  void finish_head();
  void end_message(Outcome framing);
  void reset_head();
  void malformed_head();
  void resync();
  void gap(std::uint64_t lost);
  void eof();

  Role role;
  MessageSink& sink;
  Limits limits;
  ParserStats stats;
  State state = State::head;

  // Head. Only the current line is buffered, and only when it spans feeds; finished lines go
  // straight into `head`. While resynchronising it holds the tail of the current line instead.
  std::string line_buf;
  std::size_t head_bytes = 0;  // of the current head so far, for the limit and skip accounting
  bool start_line_done = false;
  MessageHead head;

  // Body.
  bool started = false;  // on_head was called and on_end not yet
  std::uint64_t remaining = 0;
  ChunkedDecoder chunked;
  BodyPipeline body;
};

void Parser::Impl::feed(std::string_view in) {
  while (!in.empty()) {
    const State before = state;
    std::size_t n = step(in);
    if (n == 0 && state == before) {
      // Every state consumes or moves on; should one ever do neither, skip rather than spin.
      stats.resync_skipped_bytes += 1;
      n = 1;
    }
    in.remove_prefix(n);
  }
}

std::size_t Parser::Impl::step(std::string_view in) {
  switch (state) {
    case State::head:
      return head_bytes_in(in);
    case State::resync:
      return resync_bytes_in(in);
    case State::body_length: {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in.size()));
      remaining -= n;
      body.feed(in.substr(0, n));
      if (remaining == 0) {
        end_message(Outcome::complete);
        state = State::head;
      }
      return n;
    }
    case State::body_chunked: {
      const auto st = chunked.next(in);
      if (!st.data.empty()) body.feed(st.data);
      if (st.status == ChunkedDecoder::Status::done) {
        end_message(Outcome::complete);
        state = State::head;
      } else if (st.status == ChunkedDecoder::Status::error) {
        ++stats.malformed;
        end_message(Outcome::malformed);
        resync();
      }
      return st.consumed;
    }
    case State::body_close:
      body.feed(in);
      return in.size();
    case State::skip_length: {
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, in.size()));
      remaining -= n;
      if (remaining == 0) state = State::head;
      return n;
    }
    case State::skip_close:
    case State::upgraded:
      return in.size();
  }
  return in.size();
}

std::size_t Parser::Impl::head_bytes_in(std::string_view in) {
  const auto nl = in.find('\n');
  const std::size_t take = nl == std::string_view::npos ? in.size() : nl + 1;
  if (take > limits.max_head_bytes - head_bytes) {
    head_too_long();
    return 0;
  }
  head_bytes += take;
  if (nl == std::string_view::npos) {
    line_buf.append(in);
    return take;
  }
  std::string_view line = in.substr(0, nl);
  if (!line_buf.empty()) {
    line_buf.append(line);
    line = line_buf;
  }
  const std::size_t with_eol = line.size() + 1;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  on_line(line, with_eol);
  secure_clear(line_buf);
  return take;
}

void Parser::Impl::on_line(std::string_view line, std::size_t with_eol) {
  if (start_line_done) {
    if (line.empty()) {
      finish_head();
    } else if (head.headers.size() >= limits.max_headers) {
      malformed_line(line, with_eol);
    } else {
      head.headers.emplace_back();
      if (!syntax::parse_header_line(line, head.headers.back())) malformed_line(line, with_eol);
    }
    return;
  }
  if (line.empty()) {
    // RFC 9112 section 2.2: tolerate empty lines before a message (e.g. a CRLF after a body).
    head_bytes = 0;
    return;
  }
  const bool ok =
      role == Role::request ? syntax::parse_request_line(line, head) : syntax::parse_status_line(line, head);
  if (ok) {
    start_line_done = true;
    return;
  }
  malformed_line(line, with_eol);
}

void Parser::Impl::malformed_line(std::string_view line, std::size_t with_eol) {
  // Out of step. The next message may still start inside this line, after the unread end of a body.
  ++stats.malformed;
  const std::size_t discarded = head_bytes;  // this line included
  head.headers.clear();
  if (adopt_start(line, with_eol)) {
    stats.resync_skipped_bytes += discarded - head_bytes;
    return;
  }
  stats.resync_skipped_bytes += discarded;
  reset_head();
  resync();
}

void Parser::Impl::head_too_long() {
  // Whatever the split, this fires on the same line. The part of that line already read stays in
  // line_buf and the resync scan continues the line, so a message start at its end is still found.
  ++stats.malformed;
  stats.resync_skipped_bytes += head_bytes;
  std::string partial;
  partial.swap(line_buf);
  reset_head();
  line_buf.swap(partial);
  state = State::resync;
}

std::size_t Parser::Impl::resync_bytes_in(std::string_view in) {
  const auto nl = in.find('\n');
  if (nl == std::string_view::npos) {
    stats.resync_skipped_bytes += in.size();
    keep_line_tail(in);
    return in.size();
  }
  stats.resync_skipped_bytes += nl + 1;
  std::string_view line = in.substr(0, nl);
  if (!line_buf.empty()) {
    keep_line_tail(line);
    line = line_buf;
  }
  std::size_t eol = 1;
  if (!line.empty() && line.back() == '\r') {
    line.remove_suffix(1);
    eol = 2;
  }
  if (adopt_start(line, line.size() + eol)) stats.resync_skipped_bytes -= head_bytes;
  line_buf.clear();
  return nl + 1;
}

bool Parser::Impl::adopt_start(std::string_view line, std::size_t with_eol) {
  // A start line must fit in a head: only the last max_head_bytes of the line can hold one, which
  // also makes the result independent of how much of a long line the buffer kept.
  const std::size_t from = with_eol > limits.max_head_bytes ? with_eol - limits.max_head_bytes : 0;
  const auto start = syntax::find_message_start(role, line, from, head);
  if (!start) return false;
  head_bytes = with_eol - *start;
  start_line_done = true;
  state = State::head;
  return true;
}

void Parser::Impl::keep_line_tail(std::string_view bytes) {
  // Keep at least the last max_head_bytes of the line; trimming only when twice that is held
  // makes the copying amortised constant per byte.
  const std::size_t keep = limits.max_head_bytes;
  if (bytes.size() >= keep) {
    line_buf.assign(bytes.substr(bytes.size() - keep));
    return;
  }
  line_buf.append(bytes);
  if (line_buf.size() > 2 * keep) line_buf.erase(0, line_buf.size() - keep);
}

void Parser::Impl::finish_head() {
  if (role == Role::response && head.status >= 100 && head.status < 200 && head.status != 101) {
    // Interim responses (100 Continue, 103 Early Hints) precede the real one.
    ++stats.informational;
    reset_head();
    return;
  }

  CodingList codings;
  CodingList transfer_codings;
  bool has_te = false;
  bool chunked_seen = false;
  bool chunked_last = false;
  bool te_bad = false;
  bool length_bad = false;
  std::optional<std::uint64_t> length;
  for (const auto& h : head.headers) {
    if (h.name == "content-encoding") {
      codings.add_list(h.value);
    } else if (h.name == "transfer-encoding") {
      std::string_view v = h.value;
      while (true) {
        const auto comma = v.find(',');
        const auto token = syntax::trim_ows(v.substr(0, comma));
        if (!token.empty()) {
          has_te = true;
          if (syntax::iequals(token, "chunked")) {
            te_bad |= chunked_seen;  // chunked twice
            chunked_seen = chunked_last = true;
          } else {
            te_bad |= chunked_seen;  // chunked must be the final transfer coding
            chunked_last = false;
            transfer_codings.add(encoding::parse_coding(token));
          }
        }
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
      }
    } else if (h.name == "content-length") {
      const auto n = syntax::parse_content_length(h.value);
      // A conflicting or invalid length is the classic request smuggling vector: refuse.
      if (!n || (length && *length != *n)) length_bad = true;
      if (n) length = n;
    }
  }
  Framing framing = Framing::none;
  std::uint64_t body_length = 0;
  bool bad = false;
  if (has_te) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 section 6.3), so a bad length is moot.
    bad = te_bad;
    if (chunked_last) {
      framing = Framing::chunked;
    } else if (role == Role::response) {
      framing = Framing::close;
    } else {
      bad = true;  // a request body must have a determinable length
    }
    for (std::size_t i = 0; i < transfer_codings.count; ++i) codings.add(transfer_codings.items[i]);
    codings.unsupported |= transfer_codings.unsupported;
  } else if (length_bad) {
    bad = true;
  } else if (length) {
    framing = *length > 0 ? Framing::length : Framing::none;
    body_length = *length;
  } else if (role == Role::response) {
    framing = Framing::close;
  }
  if (bad) {
    malformed_head();
    return;
  }

  ++stats.messages;
  started = true;
  const BodyPolicy policy = sink.on_head(head);
  bool upgrade = false;
  if (role == Role::response) {
    if (head.status == 101 || (policy.upgrade_on_2xx && head.status / 100 == 2)) {
      upgrade = true;
    } else if (head.status == 204 || head.status == 304 || policy.no_body) {
      framing = Framing::none;
    }
  } else if (head.method == "CONNECT") {
    upgrade = true;  // what follows is the tunnelled stream
  }
  reset_head();
  if (upgrade) {
    end_message(Outcome::complete);
    state = State::upgraded;
    return;
  }
  switch (framing) {
    case Framing::none:
      end_message(Outcome::complete);
      return;
    case Framing::length:
      remaining = body_length;
      state = State::body_length;
      break;
    case Framing::chunked:
      chunked.reset();
      state = State::body_chunked;
      break;
    case Framing::close:
      state = State::body_close;
      break;
  }
  body.start(policy.deliver, codings);
}

void Parser::Impl::end_message(Outcome framing) {
  if (!started) return;
  started = false;
  const MessageEnd end = body.finish(framing);
  if (end.outcome == Outcome::truncated) ++stats.truncated;
  sink.on_end(end);
}

void Parser::Impl::reset_head() {
  secure_clear(line_buf);
  head_bytes = 0;
  start_line_done = false;
  head.method.clear();
  secure_clear(head.target);  // may carry ?key=
  head.status = 0;
  head.reason.clear();
  head.version.clear();
  for (auto& h : head.headers) secure_clear(h.value);
  head.headers.clear();
}

void Parser::Impl::malformed_head() {
  ++stats.malformed;
  stats.resync_skipped_bytes += head_bytes;
  reset_head();
  resync();
}

void Parser::Impl::resync() {
  line_buf.clear();
  state = State::resync;
}

void Parser::Impl::gap(std::uint64_t lost) {
  if (lost == 0) return;
  ++stats.gaps;
  switch (state) {
    case State::head:
    case State::resync:
      // The line in hand no longer continues; what follows the gap is scanned afresh.
      stats.resync_skipped_bytes += head_bytes;
      reset_head();
      resync();
      return;
    case State::body_length:
    case State::skip_length:
      end_message(Outcome::gap);
      // The length says exactly where the next message starts: stay in step when we can.
      if (lost < remaining) {
        remaining -= lost;
        state = State::skip_length;
      } else if (lost == remaining) {
        remaining = 0;
        state = State::head;
      } else {
        remaining = 0;
        resync();
      }
      return;
    case State::body_chunked:
      end_message(Outcome::gap);
      resync();
      return;
    case State::body_close:
      end_message(Outcome::gap);
      state = State::skip_close;
      return;
    case State::skip_close:
    case State::upgraded:
      return;
  }
}

void Parser::Impl::eof() {
  switch (state) {
    case State::head:
      if (head_bytes > 0 && (start_line_done || line_buf != "\r")) ++stats.truncated;
      reset_head();
      break;
    case State::body_close:
      end_message(Outcome::complete);
      break;
    case State::body_length:
    case State::body_chunked:
      end_message(Outcome::truncated);
      break;
    case State::resync:
    case State::skip_length:
    case State::skip_close:
      break;
    case State::upgraded:
      return;
  }
  remaining = 0;
  line_buf.clear();
  state = State::head;
}

Parser::Parser(Role role, MessageSink& sink, const Limits& limits)
    : impl_(std::make_unique<Impl>(role, sink, limits)) {}
Parser::~Parser() = default;

void Parser::feed(std::string_view bytes) {
  if (impl_->state == State::upgraded) return;
  impl_->feed(bytes);
}
void Parser::gap(std::uint64_t lost) { impl_->gap(lost); }
void Parser::eof() { impl_->eof(); }
bool Parser::upgraded() const { return impl_->state == State::upgraded; }
bool Parser::in_message() const {
  return impl_->started || (impl_->state == State::head && impl_->head_bytes > 0);
}
const ParserStats& Parser::stats() const { return impl_->stats; }

}  // namespace shadowmeter::http1
