#include "server/traces_request.h"

#include <utility>
#include <vector>

#include "export/otlp_json.h"
#include "server/record_check.h"
#include "common/excerpt.h"

namespace shadowmeter::collector {
namespace {

char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower_trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  std::string out;
  out.reserve(s.size());
  for (char c : s) out.push_back(lower(c));
  return out;
}

}  // namespace

bool is_event_id(std::string_view id) {
  if (id.size() != 32) return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

HeaderCheck check_traces_headers(std::string_view content_type, std::string_view content_encoding) {
  HeaderCheck out;
  const std::string media = lower_trimmed(content_type.substr(0, content_type.find(';')));
  if (media == "application/x-protobuf" || media == "application/protobuf") {
    out.verdict = HeaderVerdict::bad_content_type;
    out.error = "this collector accepts OTLP/HTTP JSON only (Content-Type: application/json), not protobuf";
    return out;
  }
  if (media != "application/json") {
    out.verdict = HeaderVerdict::bad_content_type;
    out.error = media.empty()
                    ? "Content-Type application/json required"
                    : "unsupported Content-Type '" + excerpt(media) + "': application/json required";
    return out;
  }
  const std::string enc = lower_trimmed(content_encoding);
  if (enc.empty() || enc == "identity") {
    out.encoding = BodyEncoding::identity;
  } else if (enc == "gzip" || enc == "x-gzip") {
    out.encoding = BodyEncoding::gzip;
  } else {
    out.verdict = HeaderVerdict::bad_encoding;
    out.error = "unsupported Content-Encoding '" + excerpt(enc) + "': gzip or identity only";
  }
  return out;
}

TracesParse parse_traces_body(std::string_view json, const exporting::OtlpDecodeLimits& limits) {
  TracesParse out;
  exporting::OtlpDecoded decoded = exporting::decode_otlp_traces(json, limits);
  out.reserved = decoded.reserved;
  if (!decoded.ok()) {
    out.failure = decoded.failure;
    out.error = std::move(decoded.error);
    return out;
  }
  std::vector<nlohmann::json>& records = decoded.events;
  const auto refuse = [&out](std::string why) {
    out.failure = exporting::OtlpFailure::malformed;
    out.error = std::move(why);
    out.batch = {};  // all or nothing: a refused body queues no record
    out.dropped_attributes.clear();
    return std::move(out);
  };
  std::size_t index = 0;
  for (auto& r : records) {
    const std::string where = "span " + std::to_string(index++);
    // Before the record rules: a dimension value's NUL byte drops the attribute, not the body.
    for (auto& d : drop_bad_dimensions(r)) out.dropped_attributes.push_back(std::move(d));
    if (auto why = check_record(r)) return refuse(where + ": " + *why);
    const auto id = r.find("shadowmeter.event_id");
    if (id == r.end() || !id->is_string() || !is_event_id(id->get_ref<const std::string&>())) {
      return refuse(where + ": shadowmeter.event_id must be 32 lower-case hex digits");
    }
    const auto type = r.find(exporting::kRecordTypeKey);
    if (type == r.end()) {
      out.batch.calls.push_back(std::move(r));
      continue;
    }
    if (!type->is_string()) {
      return refuse(where + ": " + exporting::kRecordTypeKey + " must be a string");
    }
    const std::string& t = type->get_ref<const std::string&>();
    if (t == "heartbeat") {
      out.batch.heartbeats.push_back(std::move(r));
    } else if (t == "gap") {
      out.batch.gaps.push_back(std::move(r));
    } else {
      return refuse(where + ": unknown " + std::string(exporting::kRecordTypeKey) + " '" + excerpt(t) + "'");
    }
  }
  return out;
}

std::optional<FramingError> check_transfer_encoding(const std::vector<std::string_view>& transfer_encodings) {
  if (transfer_encodings.empty()) return std::nullopt;
  std::vector<std::string> codings;
  std::string all;
  for (std::string_view line : transfer_encodings) {
    all += (all.empty() ? "" : ", ") + std::string(line);
    for (std::size_t start = 0;;) {
      const std::size_t comma = line.find(',', start);
      std::string c = lower_trimmed(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
      // Parameters (";q=...") are not part of a transfer coding's name.
      if (const auto semi = c.find(';'); semi != std::string::npos) c = lower_trimmed(c.substr(0, semi));
      if (!c.empty()) codings.push_back(std::move(c));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
  }
  const std::string shown = "Transfer-Encoding '" + excerpt(all) + "'";
  std::size_t chunked = 0;
  for (const std::string& c : codings) chunked += c == "chunked" ? 1u : 0u;
  if (codings.empty() || codings.back() != "chunked" || chunked != 1)
    return FramingError{400, shown + ": the final transfer coding must be chunked, once (RFC 9112 section 6.3)"};
  if (codings.size() != 1) return FramingError{501, shown + ": only chunked is implemented"};
  return std::nullopt;
}

}  // namespace shadowmeter::collector
