#include "capture/connection.h"

#include <algorithm>

#include "capture/host.h"
#include "capture/http2_connection.h"
#include "protocols/http2/decoder.h"
#include "protocols/secure_clear.h"

namespace shadowmeter::capture {
namespace {

constexpr std::size_t kSniffBytes = 24;  // the HTTP/2 preface and any method + space fit
// Enough for an HTTP/2 server's first SETTINGS (and a WINDOW_UPDATE) sent before the client's preface.
constexpr std::size_t kEarlyIngressBytes = 4096;

providers::HeaderList to_header_list(const std::vector<http1::Header>& hs) {
  providers::HeaderList out;
  out.reserve(hs.size());
  for (const auto& h : hs) out.emplace_back(h.name, h.value);
  return out;
}

const char* outcome_error(http1::Outcome o) {
  switch (o) {
    case http1::Outcome::complete: return "";
    case http1::Outcome::truncated: return "truncated";
    case http1::Outcome::gap: return "capture_gap";
    case http1::Outcome::malformed: return "malformed_http";
    case http1::Outcome::decode_error: return "decode_error";
    case http1::Outcome::decode_limit: return "decode_limit";
    case http1::Outcome::body_limit: return "body_limit";
  }
  return "";
}

}  // namespace

struct Connection::Pending {
  Exchange ex;
  std::unique_ptr<providers::ExchangeSession> session;
  providers::HeaderList request_headers;
  providers::HeaderList response_headers;
  std::string target;
  std::string request_body;
  bool request_body_truncated = false;
  bool request_done = false;
  bool request_reported = false;
  bool head_request = false;
  http1::Outcome request_outcome = http1::Outcome::complete;
  bool response_started = false;
  bool event_stream = false;
  bool cut = false;  // response body passed the per-message or total buffer budget
  std::uint64_t response_body_bytes = 0;
  std::unique_ptr<sse::Parser> sse;
  std::uint64_t held = 0;  // bytes counted against the table's budget
};

class Connection::RequestSink final : public http1::MessageSink {
 public:
  explicit RequestSink(Connection& c) : c_(c) {}

  http1::BodyPolicy on_head(const http1::MessageHead& head) override {
    auto& t = c_.table_;
    auto hp = parse_host_header(head.header("host"));
    if (!c_.ai_) {
      const providers::CatalogEntry* entry =
          hp ? t.catalog_.find(hp->host, hp->port.value_or(c_.peer_.port)) : nullptr;
      // A destination configured by address range (CIDR:port) whatever name the client used.
      if (!entry) entry = t.catalog_.find_address(c_.peer_.family, c_.peer_.addr, c_.peer_.port);
      if (!entry) {
        c_.rejected_ = Verdict::not_ai;
        current_ = nullptr;
        return {.no_body = false, .deliver = false};
      }
      c_.ai_ = true;
      c_.provider_ = &t.registry_.for_entry(*entry);
      ++t.stats_.verdicts[static_cast<int>(Verdict::ai)];
    }
    if (c_.pending_.size() >= t.limits_.max_pipelined) {
      ++t.stats_.pipeline_overflows;
      c_.emit_front(nullptr);
    }
    auto p = std::make_unique<Connection::Pending>();
    p->session = c_.provider_->start();
    p->ex.key = c_.key_;
    p->ex.fd = c_.fd_;
    p->ex.peer = c_.peer_;
    p->ex.comm = c_.comm_;
    p->ex.tap = c_.tap_;
    p->ex.start_ns = c_.now_ns_;
    p->ex.method = head.method;
    p->ex.path = path_of(head.target);
    p->target = head.target;
    p->head_request = head.method == "HEAD";
    p->ex.protocol_version = head.version.empty() ? "1.1" : head.version;
    if (hp) {
      p->ex.host = hp->host;
      p->ex.port = hp->port.value_or(c_.peer_.port ? c_.peer_.port : 443);
    }
    p->request_headers = to_header_list(head.headers);
    current_ = p.get();
    c_.pending_.push_back(std::move(p));
    return {};
  }

  void on_body(std::string_view decoded) override {
    if (!current_) return;
    auto& t = c_.table_;
    auto room = t.limits_.max_request_body_bytes - std::min<std::uint64_t>(t.limits_.max_request_body_bytes,
                                                                           current_->request_body.size());
    if (decoded.size() > room || t.buffered_ + decoded.size() > t.limits_.max_total_buffer_bytes) {
      current_->request_body_truncated = true;
      decoded = decoded.substr(0, std::min<std::uint64_t>(room, decoded.size()));
      if (t.buffered_ + decoded.size() > t.limits_.max_total_buffer_bytes) return;
    }
    current_->request_body.append(decoded);
    current_->held += decoded.size();
    t.buffered_ += decoded.size();
  }

  void on_end(const http1::MessageEnd& end) override {
    if (!current_) return;
    if (end.outcome != http1::Outcome::complete && c_.table_.cb_.parse_outcome)
      c_.table_.cb_.parse_outcome(end.outcome);
    current_->request_done = true;
    current_->request_outcome = end.outcome;
    if (!current_->request_reported) c_.report_request(*current_);
    current_ = nullptr;
  }

  // The exchange being received; cleared when it ends or is emitted early.
  Connection::Pending* current_ = nullptr;

 private:
  Connection& c_;
};

class Connection::ResponseSink final : public http1::MessageSink {
 public:
  explicit ResponseSink(Connection& c) : c_(c) {}

  http1::BodyPolicy on_head(const http1::MessageHead& head) override {
    Pending* p = nullptr;
    for (auto& q : c_.pending_) {
      if (!q->response_started) {
        p = q.get();
        break;
      }
    }
    if (!p) {
      ++c_.table_.stats_.orphan_responses;
      current_ = nullptr;
      return {.no_body = false, .deliver = false};
    }
    current_ = p;
    p->response_started = true;
    p->ex.status = head.status;
    p->response_headers = to_header_list(head.headers);
    p->event_stream = is_event_stream(head.header("content-type"));
    if (!p->request_reported) c_.report_request(*p);  // the server answered before the request ended
    p->session->on_response_head({.status = head.status, .headers = &p->response_headers,
                                  .event_stream = p->event_stream});
    if (p->event_stream) {
      p->sse = std::make_unique<sse::Parser>(
          [p](const sse::Event& e) { p->session->on_sse_event(e.type, e.data); });
    }
    return {.no_body = p->head_request, .deliver = true, .upgrade_on_2xx = p->ex.method == "CONNECT"};
  }

  void on_body(std::string_view decoded) override {
    Pending* p = current_;
    if (!p || p->cut) return;
    auto& t = c_.table_;
    p->response_body_bytes += decoded.size();
    if (p->event_stream) {
      // Events are handed over one at a time; nothing accumulates beyond one event.
      p->sse->feed(decoded);
      return;
    }
    if (p->response_body_bytes > t.limits_.http.max_body_bytes ||
        t.buffered_ + decoded.size() > t.limits_.max_total_buffer_bytes) {
      p->cut = true;
      ++t.stats_.buffer_limited;
      return;
    }
    p->held += decoded.size();
    t.buffered_ += decoded.size();
    p->session->on_response_body(decoded);
  }

  void on_end(const http1::MessageEnd& end) override {
    if (!current_) return;
    if (end.outcome != http1::Outcome::complete && c_.table_.cb_.parse_outcome)
      c_.table_.cb_.parse_outcome(end.outcome);
    current_ = nullptr;
    c_.emit_front(&end);
  }

  Connection::Pending* current_ = nullptr;

 private:
  Connection& c_;
};

Connection::Connection(ConnectionTable& table, const Chunk& first)
    : table_(table), key_(first.key), fd_(first.fd), peer_(first.peer), comm_(first.comm), tap_(first.tap), last_ns_(first.ts_ns) {
  request_sink_ = std::make_unique<RequestSink>(*this);
  response_sink_ = std::make_unique<ResponseSink>(*this);
  // The provider copy of the response body is bounded by the sink; the parser itself only frames.
  http1::Limits lim = table.limits_.http;
  lim.max_body_bytes = UINT64_MAX;
  request_parser_ = std::make_unique<http1::Parser>(http1::Role::request, *request_sink_, lim);
  response_parser_ = std::make_unique<http1::Parser>(http1::Role::response, *response_sink_, lim);
}

Connection::~Connection() {
  for (auto& p : pending_) release(*p);
}

void Connection::release(Pending& p) {
  table_.buffered_ -= std::min(table_.buffered_, p.held);
  p.held = 0;
}

void Connection::feed(const Chunk& c) {
  if (c.lost) {
    // The probe could not read `lost` bytes after `data`: the gap is here, not at the next record
    // (there may be none). Feed what was read, then an empty chunk just past the hole.
    Chunk head = c;
    head.lost = 0;
    if (!c.data.empty()) feed(head);
    Chunk past = head;
    past.stream_offset = c.stream_offset + c.data.size() + c.lost;
    past.data = {};
    feed(past);
    return;
  }
  last_ns_ = c.ts_ns;
  now_ns_ = c.ts_ns;
  if (c.fd >= 0) fd_ = c.fd;
  if (c.peer.family) peer_ = c.peer;
  const int d = static_cast<int>(c.direction);
  std::string_view data = c.data;

  // Offsets come from the kernel's per-connection counters: a jump forward is lost bytes, a step
  // back is a duplicate or the kernel having restarted its count (its LRU entry was evicted).
  if (c.stream_offset != expected_[d]) {
    if (c.stream_offset > expected_[d]) {
      const std::uint64_t lost = c.stream_offset - expected_[d];
      ++table_.stats_.gaps;
      table_.stats_.gap_bytes += lost;
      if (rejected_) return;
      if (h2_) {
        h2_->gap(c.direction);
        return;
      }
      if (c.direction == Direction::egress) {
        sniff_.clear();
        if (http1_) request_parser_->gap(lost);
      } else if (ai_) {
        response_parser_->gap(lost);
      } else {
        early_ingress_lost_ = true;
      }
    } else if (c.stream_offset + data.size() <= expected_[d]) {
      ++table_.stats_.duplicate_chunks;
      return;
    } else {
      ++table_.stats_.gaps;
      if (h2_) {
        h2_->gap(c.direction);
        return;
      }
      if (c.direction == Direction::egress && http1_) request_parser_->gap(UINT64_MAX / 2);
      if (c.direction == Direction::ingress && ai_) response_parser_->gap(UINT64_MAX / 2);
    }
  }
  expected_[d] = c.stream_offset + data.size();
  const bool first_in_direction = !seen_[d];
  seen_[d] = true;
  if (data.empty()) return;

  if (h2_) {
    h2_->feed(c.direction, data);
    return;
  }
  if (!ai_) {
    if (c.direction == Direction::ingress) {
      // A client speaks first in HTTP: a request received before anything was sent means we are
      // the server. Other bytes received first may be the rest of a response that was under way
      // when the agent started; the next request on the connection will tell.
      if (!seen_[static_cast<int>(Direction::egress)] && first_in_direction && http1::looks_like_request_start(data)) {
        rejected_ = Verdict::server;
        return;
      }
      // A response read before any request: the probes were attached after the request was sent.
      // Its usage is in the response, so it still becomes an exchange, marked request_missed.
      if (!seen_[static_cast<int>(Direction::egress)] && first_in_direction && !http1_ && !early_ingress_lost_ &&
          c.stream_offset == 0 && data.starts_with("HTTP/1.") && start_request_missed(c)) {
        feed_direction(Direction::ingress, data);
        return;
      }
      if (!http1_ && !early_ingress_lost_) {
        if (early_ingress_.size() + data.size() <= kEarlyIngressBytes)
          early_ingress_.append(data);
        else
          early_ingress_lost_ = true;
      }
      return;
    }
    if (http1_) {
      // HTTP/1 already recognised; the request head naming the host is still arriving.
      feed_direction(Direction::egress, data);
      return;
    }
    // Decide on the first bytes sent: an HTTP/1.x request line, the HTTP/2 preface, or other.
    std::string held;  // owns the bytes when earlier short writes were held back
    std::string_view view = data;
    if (!sniff_.empty()) {
      sniff_.append(data);
      held.swap(sniff_);
      view = held;
    }
    if (view.size() < kSniffBytes && view.find(' ') == std::string_view::npos) {
      sniff_.assign(view);
      return;  // too short to tell yet
    }
    if (http2::looks_like_preface(view)) {
      if (view.size() < kSniffBytes) {
        sniff_.assign(view);  // the preface is still arriving
        return;
      }
      start_http2(view);
      return;
    }
    if (!http1::looks_like_request_start(view)) {
      rejected_ = Verdict::not_http;
      return;
    }
    http1_ = true;
    early_ingress_.clear();
    early_ingress_.shrink_to_fit();
    feed_direction(Direction::egress, view);
    return;
  }
  feed_direction(c.direction, data);
}

bool Connection::start_request_missed(const Chunk& c) {
  auto& t = table_;
  std::optional<std::string> name;
  if (t.cb_.server_name) name = t.cb_.server_name(c.key.tgid, fd_);
  const providers::CatalogEntry* entry = name ? t.catalog_.find(*name, peer_.port) : nullptr;
  if (!entry) entry = t.catalog_.find_address(peer_.family, peer_.addr, peer_.port);
  if (!entry) return false;  // stays undecided: the next request on the connection will tell
  ai_ = true;
  http1_ = true;
  provider_ = &t.registry_.for_entry(*entry);
  ++t.stats_.verdicts[static_cast<int>(Verdict::ai)];
  ++t.stats_.requests_missed;
  early_ingress_.clear();
  auto p = std::make_unique<Connection::Pending>();
  p->session = provider_->start();
  p->ex.key = key_;
  p->ex.fd = fd_;
  p->ex.peer = peer_;
  p->ex.comm = comm_;
  p->ex.tap = tap_;
  p->ex.start_ns = now_ns_;
  p->ex.host = name ? *name : "";
  p->ex.port = peer_.port ? peer_.port : 443;
  p->ex.request_missed = true;
  p->request_done = true;  // nothing of it will come: not "incomplete", but missed
  pending_.push_back(std::move(p));
  return true;
}

void Connection::start_http2(std::string_view first_egress) {
  h2_ = std::make_unique<Http2Connection>(*this);
  if (early_ingress_lost_) {
    h2_->gap(Direction::ingress);
  } else if (!early_ingress_.empty()) {
    std::string early;
    early.swap(early_ingress_);
    h2_->feed(Direction::ingress, early);
  }
  if (!h2_->failed()) h2_->feed(Direction::egress, first_egress);
}

void Connection::feed_direction(Direction d, std::string_view bytes) {
  (d == Direction::egress ? request_parser_ : response_parser_)->feed(bytes);
}

void Connection::report_request(Pending& p) {
  p.request_reported = true;
  providers::RequestView v;
  v.method = p.ex.method;
  v.target = p.target;
  v.host = p.ex.host;
  v.headers = &p.request_headers;
  v.body = p.request_body;
  v.body_truncated = p.request_body_truncated || p.request_outcome != http1::Outcome::complete || !p.request_done;
  v.missed = p.ex.request_missed;
  if (table_.cb_.body_tap) p.ex.body_tap = table_.cb_.body_tap();
  v.body_tap = p.ex.body_tap.get();
  p.session->on_request(v);
  // Providers that do not scan the body with RequestFields leave the tap to be fed here.
  if (v.body_tap && !v.body_tap->fed) providers::scan_json(v.body, *v.body_tap);
}

void Connection::emit_front(const http1::MessageEnd* response_end) {
  if (pending_.empty()) return;
  std::unique_ptr<Pending> p = std::move(pending_.front());
  pending_.pop_front();
  if (request_sink_->current_ == p.get()) request_sink_->current_ = nullptr;
  if (response_sink_->current_ == p.get()) response_sink_->current_ = nullptr;
  if (!p->request_reported) report_request(*p);
  if (p->sse) p->sse->finish();

  const http1::Outcome outcome = response_end ? response_end->outcome : http1::Outcome::truncated;
  const bool complete = response_end && outcome == http1::Outcome::complete && !p->cut;
  p->ex.call = p->session->finish(complete);
  p->ex.end_ns = now_ns_;
  if (!response_end) {
    p->ex.error_type = p->response_started ? "truncated" : "no_response";
  } else if (outcome != http1::Outcome::complete) {
    p->ex.error_type = outcome_error(outcome);
  } else if (p->cut) {
    p->ex.error_type = "body_limit";
  } else if (!p->request_done) {
    p->ex.error_type = "request_incomplete";  // answered before we saw the whole request
  } else if (p->request_outcome != http1::Outcome::complete) {
    p->ex.error_type = std::string("request_") + outcome_error(p->request_outcome);
  } else if (p->ex.status >= 400) {
    p->ex.error_type = std::to_string(p->ex.status);
  }
  if (table_.cb_.request_fields) table_.cb_.request_fields(p->request_headers, p->ex);
  p->ex.body_tap.reset();
  if (table_.cb_.credential) table_.cb_.credential(p->request_headers, p->target, p->ex);
  secure_clear(p->request_headers);
  secure_clear(p->target);
  release(*p);
  ++table_.stats_.exchanges;
  if (table_.cb_.exchange) table_.cb_.exchange(std::move(p->ex));
}

void Connection::finish(std::uint64_t ts_ns) {
  if (ts_ns > now_ns_) now_ns_ = ts_ns;
  if (h2_) {
    h2_->finish();
    return;
  }
  if (ai_) {
    request_parser_->eof();
    response_parser_->eof();  // a body delimited by close completes and is emitted here
  }
  while (!pending_.empty()) emit_front(nullptr);
}

}  // namespace shadowmeter::capture
