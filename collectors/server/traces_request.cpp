#include "server/traces_request.h"

#include <utility>
#include <vector>

#include "export/otlp_json.h"

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

// At most this much of a client-supplied value is echoed in an error message.
std::string excerpt(std::string_view s) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (char c : s.substr(0, kMax)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (s.size() > kMax) out += "...";
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

TracesParse parse_traces_body(std::string_view json, std::size_t max_spans) {
  TracesParse out;
  std::vector<nlohmann::json> records;
  try {
    records = exporting::decode_otlp_traces(json, max_spans);
  } catch (const exporting::OtlpError& e) {
    out.error = e.what();
    return out;
  } catch (const nlohmann::json::exception& e) {
    // The decoder checks types itself; this is a last line for whatever it did not foresee.
    out.error = std::string("malformed OTLP JSON: ") + e.what();
    return out;
  }
  const auto refuse = [&out](std::string why) {
    out.error = std::move(why);
    out.batch = {};  // all or nothing: a refused body queues no record
    return std::move(out);
  };
  std::size_t index = 0;
  for (auto& r : records) {
    const std::string where = "span " + std::to_string(index++);
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
  out.ok = true;
  return out;
}

}  // namespace shadowmeter::collector
