// OTLP JSON mapping (opentelemetry-proto, JSON encoding): 64-bit integers and nanosecond times are
// strings, trace and span ids are hex strings, enums are numbers (SPAN_KIND_CLIENT = 3,
// STATUS_CODE_ERROR = 2).
#include "export/otlp_json.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

#include "export/bounded_json.h"
#include "common/excerpt.h"

namespace shadowmeter::exporting {
namespace {

using nlohmann::json;

constexpr int kSpanKindInternal = 1;
constexpr int kSpanKindClient = 3;
constexpr int kStatusError = 2;

bool is_resource_key(const std::string& k) {
  return std::any_of(std::begin(kResourceKeys), std::end(kResourceKeys), [&](const char* r) { return k == r; });
}

json any_value(const json& v) {
  if (v.is_boolean()) return {{"boolValue", v.get<bool>()}};
  if (v.is_number_integer()) return {{"intValue", std::to_string(v.get<std::int64_t>())}};
  if (v.is_number_unsigned()) return {{"intValue", std::to_string(v.get<std::uint64_t>())}};
  if (v.is_number_float()) return {{"doubleValue", v.get<double>()}};
  if (v.is_string()) return {{"stringValue", v.get<std::string>()}};
  return {{"stringValue", v.dump()}};
}

json key_value(const std::string& k, const json& v) { return {{"key", k}, {"value", any_value(v)}}; }

std::string time_string(const json& e, const char* key) {
  const auto it = e.find(key);
  if (it == e.end()) return "0";
  if (it->is_number_unsigned()) return std::to_string(it->get<std::uint64_t>());
  if (it->is_number_integer()) return std::to_string(it->get<std::int64_t>());
  if (it->is_string()) return it->get<std::string>();
  return "0";
}

std::string str(const json& e, const char* key) {
  const auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : std::string();
}

json span_of(const json& e) {
  const std::string id = str(e, "shadowmeter.event_id");
  const std::string record_type = str(e, kRecordTypeKey);
  std::string name = str(e, "gen_ai.operation.name");
  const std::string model = str(e, "gen_ai.request.model");
  if (name.empty()) name = str(e, "gen_ai.provider.name");
  if (!model.empty()) name += " " + model;
  if (!record_type.empty()) name = "shadowmeter." + record_type;
  // One blind connection, not a GenAI operation: a span name GenAI dashboards do not take for a call.
  if (str(e, "shadowmeter.visibility") == "connection_only") name = "shadowmeter.connection";
  json attrs = json::array();
  for (const auto& [k, v] : e.items()) {
    if (k == "time_unix_nano" || k == "end_time_unix_nano" || is_resource_key(k)) continue;
    attrs.push_back(key_value(k, v));
  }
  json span = {{"traceId", id},
               {"spanId", id.substr(0, 16)},
               {"name", name},
               {"kind", record_type.empty() ? kSpanKindClient : kSpanKindInternal},
               {"startTimeUnixNano", time_string(e, "time_unix_nano")},
               {"endTimeUnixNano", time_string(e, "end_time_unix_nano")},
               {"attributes", std::move(attrs)}};
  if (const std::string err = str(e, "error.type"); !err.empty())
    span["status"] = {{"code", kStatusError}, {"message", err}};
  return span;
}

// Decoding failures travel as this exception inside the decoder only; decode_otlp_traces turns it
// into OtlpDecoded::error.
struct Malformed {
  std::string why;
};

[[noreturn]] void malformed(std::string why) { throw Malformed{std::move(why)}; }

// A whole decimal string, without sign, spaces or excess: from_chars never throws.
template <class Int>
std::optional<Int> decimal(const std::string& s) {
  Int n{};
  const char* end = s.data() + s.size();
  const auto [p, ec] = std::from_chars(s.data(), end, n);
  if (s.empty() || ec != std::errc() || p != end || s.front() == '+') return std::nullopt;
  return n;
}

// One OTLP AnyValue back to plain JSON.
json plain_value(const json& v, const std::string& key) {
  if (!v.is_object() || v.size() != 1) malformed("attribute " + key + ": value must hold exactly one field");
  const auto it = v.begin();  // (not items(): its proxy would be a dangling temporary here)
  const std::string& type = it.key();
  const json& val = it.value();
  if (type == "stringValue" && val.is_string()) return val;
  if (type == "boolValue" && val.is_boolean()) return val;
  if (type == "doubleValue" && val.is_number()) return val;
  if (type == "intValue") {
    if (val.is_number_integer()) {
      // 64-bit integers: an unsigned one above INT64_MAX is no OTLP intValue.
      if (val.is_number_unsigned() && val.get<std::uint64_t>() > std::uint64_t{INT64_MAX})
        malformed("attribute " + key + ": intValue " + val.dump() + " is out of the 64-bit range");
      return val;
    }
    if (val.is_string()) {
      if (const auto n = decimal<std::int64_t>(val.get_ref<const std::string&>())) return *n;
      malformed("attribute " + key + ": intValue \"" + excerpt(val.get_ref<const std::string&>()) +
                "\" is not a 64-bit decimal integer");
    }
  }
  malformed("attribute " + key + ": unsupported or mistyped value " + excerpt(type));
}

void add_attributes(const json& list, json& out, const char* where) {
  if (list.is_null()) return;
  if (!list.is_array()) malformed(std::string(where) + ".attributes must be an array");
  for (const auto& kv : list) {
    if (!kv.is_object() || !kv.contains("key") || !kv["key"].is_string() || !kv.contains("value"))
      malformed(std::string(where) + ".attributes: each needs a string key and a value");
    const std::string& key = kv["key"].get_ref<const std::string&>();
    out[key] = plain_value(kv["value"], key);
  }
}

std::uint64_t nanos(const json& v, const char* what) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_string()) {
    const std::string& s = v.get_ref<const std::string&>();
    if (const auto n = decimal<std::uint64_t>(s)) return *n;
    if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
      malformed(std::string("span ") + what + " \"" + excerpt(s) + "\" is out of the 64-bit range");
  }
  malformed(std::string("span ") + what + " must be a decimal number of nanoseconds");
}

const json& array_field(const json& obj, const char* key, const char* where) {
  static const json kEmpty = json::array();
  const auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return kEmpty;
  if (!it->is_array()) malformed(std::string(where) + "." + key + " must be an array");
  return *it;
}

std::vector<json> flat_events(const json& doc, std::size_t max_spans) {
  if (!doc.is_object()) malformed("body must be a JSON object");
  std::vector<json> out;
  for (const auto& rs : array_field(doc, "resourceSpans", "body")) {
    if (!rs.is_object()) malformed("resourceSpans entries must be objects");
    json resource = json::object();
    if (const auto r = rs.find("resource"); r != rs.end() && r->is_object())
      add_attributes(r->value("attributes", json()), resource, "resource");
    for (const auto& ss : array_field(rs, "scopeSpans", "resourceSpans")) {
      if (!ss.is_object()) malformed("scopeSpans entries must be objects");
      for (const auto& span : array_field(ss, "spans", "scopeSpans")) {
        if (out.size() >= max_spans) malformed("more than " + std::to_string(max_spans) + " spans");
        if (!span.is_object()) malformed("spans entries must be objects");
        json e = resource;
        add_attributes(span.value("attributes", json()), e, "span");
        if (!span.contains("startTimeUnixNano") || !span.contains("endTimeUnixNano"))
          malformed("span without startTimeUnixNano/endTimeUnixNano");
        e["time_unix_nano"] = nanos(span["startTimeUnixNano"], "startTimeUnixNano");
        e["end_time_unix_nano"] = nanos(span["endTimeUnixNano"], "endTimeUnixNano");
        const auto id = e.find("shadowmeter.event_id");
        if (id == e.end() || !id->is_string() || id->get<std::string>().empty())
          malformed("span without a shadowmeter.event_id attribute");
        e.erase("service.name");
        e.erase("service.version");
        out.push_back(std::move(e));
      }
    }
  }
  return out;
}

}  // namespace

std::string encode_otlp_traces(const std::vector<json>& events, const OtlpResource& resource) {
  json res_attrs = json::array({key_value("service.name", resource.service_name)});
  if (!resource.service_version.empty()) res_attrs.push_back(key_value("service.version", resource.service_version));
  if (!resource.host_name.empty()) res_attrs.push_back(key_value("host.name", resource.host_name));
  json spans = json::array();
  for (const auto& e : events) spans.push_back(span_of(e));
  json scope_spans = json::object();
  scope_spans["scope"] = {{"name", "shadowmeter"}, {"version", resource.service_version}};
  scope_spans["spans"] = std::move(spans);
  json resource_spans = json::object();
  resource_spans["resource"] = json::object();
  resource_spans["resource"]["attributes"] = std::move(res_attrs);
  resource_spans["scopeSpans"] = json::array();
  resource_spans["scopeSpans"].push_back(std::move(scope_spans));
  json doc = json::object();
  doc["resourceSpans"] = json::array();
  doc["resourceSpans"].push_back(std::move(resource_spans));
  return doc.dump();
}

OtlpDecoded decode_otlp_traces(std::string_view body, const OtlpDecodeLimits& limits) {
  OtlpDecoded out;
  JsonLimits json_limits{limits.max_depth, limits.max_decoded_bytes, limits.reserve};
  BoundedJson doc = parse_bounded_json(body, json_limits);
  out.reserved = doc.reserved;
  switch (doc.failure) {
    case JsonFailure::none:
      break;
    case JsonFailure::syntax:
      out.failure = OtlpFailure::malformed;
      out.error = "body is not JSON";
      return out;
    case JsonFailure::too_deep:
      out.failure = OtlpFailure::malformed;
      out.error = "body: " + doc.error;
      return out;
    case JsonFailure::too_large:
      out.failure = OtlpFailure::too_large;
      out.error = "body: " + doc.error;
      return out;
    case JsonFailure::busy:
      out.failure = OtlpFailure::busy;
      out.error = doc.error;
      return out;
  }
  try {
    out.events = flat_events(doc.value, limits.max_spans);
  } catch (const Malformed& m) {
    out.failure = OtlpFailure::malformed;
    out.error = m.why;
  } catch (const json::exception& e) {
    // The checks above rule these out; a last line so that no input escapes as an exception.
    out.failure = OtlpFailure::malformed;
    out.error = std::string("malformed OTLP JSON: ") + e.what();
  }
  if (!out.ok()) out.events.clear();
  return out;
}

}  // namespace shadowmeter::exporting
