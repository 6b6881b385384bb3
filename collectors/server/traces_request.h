// POST /v1/traces, the parts that need no socket: which Content-Type and Content-Encoding are accepted,
// and turning a (decompressed) OTLP JSON body into an IngestBatch of checked records.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "storage/store.h"

namespace shadowmeter::collector {

enum class BodyEncoding { identity, gzip };

enum class HeaderVerdict {
  ok,
  bad_content_type,  // 415: not application/json (protobuf gets its own message)
  bad_encoding,      // 415: Content-Encoding other than gzip or identity
};

struct HeaderCheck {
  HeaderVerdict verdict = HeaderVerdict::ok;
  BodyEncoding encoding = BodyEncoding::identity;
  std::string error;  // for the response body when verdict != ok
};

// `content_type` and `content_encoding` are the header values ("" when absent). Media types compare
// case-insensitively and ignore parameters ("application/json; charset=utf-8" is fine).
HeaderCheck check_traces_headers(std::string_view content_type, std::string_view content_encoding);

struct TracesParse {
  bool ok = false;
  std::string error;  // why the body was refused (400), when !ok
  IngestBatch batch;  // calls, heartbeats and gaps; principal and received time are the caller's
  std::size_t events() const { return batch.calls.size() + batch.heartbeats.size() + batch.gaps.size(); }
};

// Decodes with exporting::decode_otlp_traces (at most max_spans spans) and splits the records by
// shadowmeter.record.type (absent: a call; "heartbeat"; "gap"). Refuses the whole body when any record
// has an event id that is not 32 lower-case hex digits or an unknown record type.
TracesParse parse_traces_body(std::string_view json, std::size_t max_spans);

// True for exactly 32 characters of [0-9a-f].
bool is_event_id(std::string_view id);

}  // namespace shadowmeter::collector
