#include "capture/http2_connection.h"

#include <algorithm>
#include <charconv>
#include <optional>

#include "capture/connection.h"
#include "capture/host.h"
#include "protocols/http1/body_pipeline.h"
#include "protocols/sse/sse_parser.h"
#include "protocols/secure_clear.h"

namespace shadowmeter::capture {
namespace {

// Streams followed at once on one connection; more are counted and not followed.
constexpr std::size_t kMaxStreams = 256;

const char* body_error(http1::Outcome o) {
  switch (o) {
    case http1::Outcome::decode_error: return "decode_error";
    case http1::Outcome::decode_limit: return "decode_limit";
    case http1::Outcome::body_limit: return "body_limit";
    default: return "";
  }
}

}  // namespace

struct Http2Connection::Stream final : public http1::MessageSink {
  Stream(Http2Connection& h, const http1::Limits& limits) : owner(h), pipeline(*this, limits, body_stats) {}

  // The body pipeline delivers decoded response bytes here.
  http1::BodyPolicy on_head(const http1::MessageHead&) override { return {}; }
  void on_body(std::string_view decoded) override;
  void on_end(const http1::MessageEnd&) override {}

  Http2Connection& owner;
  Exchange ex;
  std::unique_ptr<providers::ExchangeSession> session;
  providers::HeaderList request_headers;
  providers::HeaderList response_headers;
  std::string target;
  std::string request_body;
  bool request_body_truncated = false;
  bool request_done = false;
  bool request_reported = false;
  bool response_started = false;
  bool event_stream = false;
  bool cut = false;  // response body passed the per-message or total buffer budget
  std::uint64_t response_body_bytes = 0;
  std::uint64_t response_wire_bytes = 0;
  std::optional<std::uint64_t> content_length;  // from the response head
  std::unique_ptr<sse::Parser> sse;
  http1::ParserStats body_stats;
  http1::BodyPipeline pipeline;
  std::uint64_t held = 0;  // bytes counted against the table's budget
};

void Http2Connection::Stream::on_body(std::string_view decoded) {
  if (cut) return;
  auto& t = owner.conn_.table_;
  response_body_bytes += decoded.size();
  if (event_stream) {
    sse->feed(decoded);
    return;
  }
  if (response_body_bytes > t.limits_.http.max_body_bytes ||
      t.buffered_ + decoded.size() > t.limits_.max_total_buffer_bytes) {
    cut = true;
    ++t.stats_.buffer_limited;
    return;
  }
  held += decoded.size();
  t.buffered_ += decoded.size();
  session->on_response_body(decoded);
}

Http2Connection::Http2Connection(Connection& conn)
    : conn_(conn), body_limits_(conn.table_.limits_.http), decoder_(*this) {
  body_limits_.max_body_bytes = UINT64_MAX;  // the stream's sink applies the capture budget
}

Http2Connection::~Http2Connection() {
  for (auto& [id, s] : streams_) release(*s);
}

void Http2Connection::release(Stream& s) {
  auto& t = conn_.table_;
  t.buffered_ -= std::min(t.buffered_, s.held);
  s.held = 0;
}

void Http2Connection::feed(Direction d, std::string_view bytes) {
  decoder_.feed(d == Direction::egress ? http2::Side::client : http2::Side::server, bytes);
}

void Http2Connection::gap(Direction d) {
  decoder_.gap(d == Direction::egress ? http2::Side::client : http2::Side::server);
}

void Http2Connection::on_headers(http2::Side from, std::uint32_t id, const std::vector<http2::Header>& headers,
                                 bool end_stream) {
  if (from == http2::Side::client) {
    auto it = streams_.find(id);
    if (it == streams_.end()) {
      request_headers(id, headers, end_stream);
    } else if (end_stream) {
      request_end(*it->second);  // request trailers
    }
    return;
  }
  auto it = streams_.find(id);
  if (it == streams_.end()) return;  // a stream we do not follow (not AI, or pushed)
  Stream& s = *it->second;
  if (!s.response_started) {
    response_headers(s, headers, end_stream);
    if (s.response_started && (end_stream || s.content_length == std::uint64_t{0})) response_end(id, s);
  } else if (end_stream) {
    response_end(id, s);  // trailers end the response
  }
}

void Http2Connection::request_headers(std::uint32_t id, const std::vector<http2::Header>& headers,
                                      bool end_stream) {
  auto& t = conn_.table_;
  std::string_view method, path, authority, host;
  for (const auto& h : headers) {
    if (h.name == ":method")
      method = h.value;
    else if (h.name == ":path")
      path = h.value;
    else if (h.name == ":authority")
      authority = h.value;
    else if (h.name == "host")
      host = h.value;
  }
  const auto hp = parse_host_header(authority.empty() ? host : authority);
  const providers::CatalogEntry* entry = hp ? t.catalog_.find(hp->host, hp->port.value_or(conn_.peer_.port)) : nullptr;
  if (!entry) {
    // One connection serves one origin in practice (coalescing aside): the first request decides.
    if (!conn_.ai_) conn_.rejected_ = Verdict::not_ai;
    return;
  }
  if (!conn_.ai_) {
    conn_.ai_ = true;
    ++t.stats_.verdicts[static_cast<int>(Verdict::ai)];
  }
  if (streams_.size() >= kMaxStreams) {
    ++t.stats_.pipeline_overflows;
    return;
  }
  auto s = std::make_unique<Stream>(*this, body_limits_);
  s->session = t.registry_.for_entry(*entry).start();
  s->ex.key = conn_.key_;
  s->ex.fd = conn_.fd_;
  s->ex.peer = conn_.peer_;
  s->ex.comm = conn_.comm_;
  s->ex.tap = conn_.tap_;
  s->ex.start_ns = conn_.now_ns_;
  s->ex.method = std::string(method);
  s->ex.path = path_of(path);
  s->ex.protocol_version = "2";
  s->target = std::string(path);
  if (hp) {
    s->ex.host = hp->host;
    s->ex.port = hp->port.value_or(conn_.peer_.port ? conn_.peer_.port : 443);
  }
  s->request_headers.reserve(headers.size());
  for (const auto& h : headers) {
    if (!h.name.empty() && h.name.front() != ':') s->request_headers.emplace_back(h.name, h.value);
  }
  Stream& ref = *s;
  streams_.emplace(id, std::move(s));
  if (end_stream) request_end(ref);
}

void Http2Connection::request_data(Stream& s, std::string_view payload) {
  auto& t = conn_.table_;
  const auto max = t.limits_.max_request_body_bytes;
  const auto room = max - std::min<std::uint64_t>(max, s.request_body.size());
  if (payload.size() > room || t.buffered_ + payload.size() > t.limits_.max_total_buffer_bytes) {
    s.request_body_truncated = true;
    payload = payload.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(room, payload.size())));
    if (t.buffered_ + payload.size() > t.limits_.max_total_buffer_bytes) return;
  }
  s.request_body.append(payload);
  s.held += payload.size();
  t.buffered_ += payload.size();
}

void Http2Connection::request_end(Stream& s) {
  s.request_done = true;
  if (!s.request_reported) report_request(s);
}

void Http2Connection::report_request(Stream& s) {
  s.request_reported = true;
  providers::RequestView v;
  v.method = s.ex.method;
  v.target = s.target;
  v.host = s.ex.host;
  v.headers = &s.request_headers;
  v.body = s.request_body;
  v.body_truncated = s.request_body_truncated || !s.request_done;
  if (conn_.table_.cb_.body_tap) s.ex.body_tap = conn_.table_.cb_.body_tap();
  v.body_tap = s.ex.body_tap.get();
  s.session->on_request(v);
  // Providers that do not scan the body with RequestFields leave the tap to be fed here.
  if (v.body_tap && !v.body_tap->fed) providers::scan_json(v.body, *v.body_tap);
}

void Http2Connection::response_headers(Stream& s, const std::vector<http2::Header>& headers, bool end_stream) {
  int status = 0;
  http1::CodingList codings;
  std::string_view ctype;
  for (const auto& h : headers) {
    if (h.name == ":status") {
      int v = 0;
      for (char c : h.value) {
        if (c < '0' || c > '9' || v > 999) {
          v = 0;
          break;
        }
        v = v * 10 + (c - '0');
      }
      status = v;
    } else if (h.name == "content-encoding") {
      codings.add_list(h.value);
    } else if (h.name == "content-type") {
      ctype = h.value;
    } else if (h.name == "content-length") {
      std::uint64_t n = 0;
      const auto [ptr, ec] = std::from_chars(h.value.data(), h.value.data() + h.value.size(), n);
      if (ec == std::errc() && ptr == h.value.data() + h.value.size()) s.content_length = n;
    }
  }
  // 1xx (100 Continue, 103 Early Hints) precede the real response head.
  if (status >= 100 && status < 200 && !end_stream) return;
  s.response_started = true;
  s.ex.status = status;
  s.response_headers.reserve(headers.size());
  for (const auto& h : headers) {
    if (!h.name.empty() && h.name.front() != ':') s.response_headers.emplace_back(h.name, h.value);
  }
  s.event_stream = is_event_stream(ctype);
  if (!s.request_reported) report_request(s);  // the server answered before the request ended
  s.session->on_response_head({.status = status, .headers = &s.response_headers, .event_stream = s.event_stream});
  if (s.event_stream) {
    Stream* p = &s;
    s.sse = std::make_unique<sse::Parser>([p](const sse::Event& e) { p->session->on_sse_event(e.type, e.data); });
  }
  s.pipeline.start(true, codings);
}

void Http2Connection::on_data(http2::Side from, std::uint32_t id, std::string_view payload, bool end_stream) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  Stream& s = *it->second;
  if (from == http2::Side::client) {
    if (!payload.empty()) request_data(s, payload);
    if (end_stream) request_end(s);
    return;
  }
  if (!s.response_started) return;  // DATA before HEADERS is a protocol error; nothing to pair it with
  s.response_wire_bytes += payload.size();
  if (!payload.empty()) s.pipeline.feed(payload);
  // A body whose Content-Length has arrived is complete: clients may close without reading the
  // frame that carries END_STREAM (some servers send it in an empty DATA frame after the body).
  if (end_stream || (s.content_length && s.response_wire_bytes >= *s.content_length)) response_end(id, s);
}

void Http2Connection::response_end(std::uint32_t id, Stream& s) {
  const http1::MessageEnd end = s.pipeline.finish(http1::Outcome::complete);
  if (end.outcome != http1::Outcome::complete && conn_.table_.cb_.parse_outcome)
    conn_.table_.cb_.parse_outcome(end.outcome);
  std::string_view why = body_error(end.outcome);
  if (why.empty() && s.cut) why = "body_limit";
  emit(id, why);
}

void Http2Connection::on_reset(http2::Side /*from*/, std::uint32_t id, std::uint32_t /*error_code*/) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  // Either side cancelled the stream: what was received is all there will be.
  emit(id, it->second->response_started ? "stream_reset" : "no_response");
}

void Http2Connection::on_failure(http2::Side /*from*/, http2::Failure why) {
  // Frame sync or HPACK state is lost: nothing more on this connection can be read. Streams in
  // flight end now, and the kernel is told to stop copying.
  const std::string_view err = why == http2::Failure::gap ? "capture_gap" : "malformed_http";
  while (!streams_.empty()) emit(streams_.begin()->first, err);
  if (!conn_.rejected_) conn_.rejected_ = Verdict::http2;
}

void Http2Connection::finish() {
  while (!streams_.empty()) {
    auto& s = *streams_.begin()->second;
    emit(streams_.begin()->first, s.response_started ? "truncated" : "no_response");
  }
}

void Http2Connection::emit(std::uint32_t id, std::string_view why) {
  auto it = streams_.find(id);
  if (it == streams_.end()) return;
  std::unique_ptr<Stream> s = std::move(it->second);
  streams_.erase(it);
  if (!s->request_reported) report_request(*s);
  if (s->sse) s->sse->finish();
  const bool complete = why.empty() && !s->cut;
  s->ex.call = s->session->finish(complete);
  s->ex.end_ns = conn_.now_ns_;
  if (!why.empty()) {
    s->ex.error_type = std::string(why);
  } else if (!s->request_done) {
    s->ex.error_type = "request_incomplete";  // answered before we saw the whole request
  }
  if (s->ex.error_type.empty() && s->ex.status >= 400) s->ex.error_type = std::to_string(s->ex.status);
  auto& t = conn_.table_;
  if (t.cb_.request_fields) t.cb_.request_fields(s->request_headers, s->ex);
  s->ex.body_tap.reset();
  if (t.cb_.credential) t.cb_.credential(s->request_headers, s->target, s->ex);
  secure_clear(s->request_headers);
  secure_clear(s->target);
  release(*s);
  ++t.stats_.exchanges;
  if (t.cb_.exchange) t.cb_.exchange(std::move(s->ex));
}

}  // namespace shadowmeter::capture
