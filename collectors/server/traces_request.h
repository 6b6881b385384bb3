// POST /v1/traces, the parts that need no socket: which Content-Type and Content-Encoding are accepted,
// and turning a (decompressed) OTLP JSON body into an IngestBatch of checked records.
#pragma once

#include <cstddef>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "export/otlp_json.h"
#include "server/record_check.h"
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
  exporting::OtlpFailure failure = exporting::OtlpFailure::none;  // malformed: 400, too_large: 413, busy: 503
  std::string error;           // why the body was refused, when !ok()
  std::uint64_t reserved = 0;  // granted by limits.reserve (the caller releases it)
  bool ok() const { return failure == exporting::OtlpFailure::none; }
  IngestBatch batch;  // calls, heartbeats and gaps; principal and received time are the caller's
  // Dimension and tag attributes removed from calls for breaking their bounds (record_check.h); the
  // calls themselves are kept. The caller counts and logs them.
  std::vector<DroppedAttribute> dropped_attributes;
  std::size_t events() const { return batch.calls.size() + batch.heartbeats.size() + batch.gaps.size(); }
};

// Decodes with exporting::decode_otlp_traces (within `limits`) and splits the records by
// shadowmeter.record.type (absent: a call; "heartbeat"; "gap"). Refuses the whole body when any record
// has an event id that is not 32 lower-case hex digits, an unknown record type, or breaks a rule of
// check_record (record_check.h).
TracesParse parse_traces_body(std::string_view json, const exporting::OtlpDecodeLimits& limits);

// Request framing refused before a body is read (RFC 9112 section 6.3), on every route: a request whose
// Transfer-Encoding does not end in exactly one "chunked" has no length a server can trust, and reading
// it as bodyless would parse its body as the next request on the connection (request smuggling behind
// a proxy). Such a request is answered 400 and the connection closed.
struct FramingError {
  int status = 400;  // 400, or 501 for a coding this server does not implement ("gzip, chunked")
  std::string message;
};

// `transfer_encodings`: every Transfer-Encoding field line of the request, in order (none: fine).
std::optional<FramingError> check_transfer_encoding(const std::vector<std::string_view>& transfer_encodings);

// True for exactly 32 characters of [0-9a-f].
bool is_event_id(std::string_view id);

}  // namespace shadowmeter::collector
