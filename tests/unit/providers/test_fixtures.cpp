// Replays every recorded exchange under tests/fixtures/providers/ (format: README.md there)
// through the provider module the registry picks for its wire format, with the response body
// split at several piece sizes; each split must give the fixture's expected result.
// SM_FIXTURES=text restricts the run to fixture paths containing `text`.
#include <catch2/catch.hpp>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "protocols/eventstream/encode_message.h"
#include "protocols/sse/sse_parser.h"
#include "common/base64.h"
#include "providers/registry.h"

using namespace shadowmeter;
using namespace shadowmeter::providers;
namespace fs = std::filesystem;

namespace {

// One application/vnd.amazon.eventstream message with string headers (type 7).
std::string eventstream_message(const YAML::Node& m) {
  namespace es = shadowmeter::eventstream::testing;
  std::string headers;
  for (const auto& h : m["headers"]) headers += es::str_header(h.first.as<std::string>(), h.second.as<std::string>());
  const std::string payload = m["payload"] ? m["payload"].as<std::string>() : std::string();
  return es::message(headers, payload, {.message_crc = m["bad_crc"] && m["bad_crc"].as<bool>()});
}

struct Fixture {
  std::string file;
  YAML::Node y;
  std::string response_body;
};

std::string str(const YAML::Node& n, const char* key, std::string def = {}) {
  return n[key] ? n[key].as<std::string>() : def;
}

HeaderList headers_of(const YAML::Node& n) {
  HeaderList out;
  if (!n) return out;
  for (const auto& h : n) {
    std::string name = h.first.as<std::string>();
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    out.emplace_back(name, h.second.as<std::string>());
  }
  return out;
}

bool is_event_stream(const HeaderList& hs) {
  for (const auto& [n, v] : hs) {
    if (n == "content-type" && v.rfind("text/event-stream", 0) == 0) return true;
  }
  return false;
}

CallInfo replay(Registry& reg, const Fixture& f, std::size_t piece) {
  const YAML::Node& y = f.y;
  CatalogEntry entry{str(y, "provider"), "fixture", str(y, "format")};
  auto session = reg.for_entry(entry).start();
  const YAML::Node rq = y["request"];
  const HeaderList req_headers = headers_of(rq["headers"]);
  const std::string method = str(rq, "method", "POST");
  const std::string target = str(rq, "target", "/");
  const std::string host = str(rq, "host");
  const std::string body = str(rq, "body");
  RequestView v;
  v.method = method;
  v.target = target;
  v.host = host;
  v.headers = &req_headers;
  v.body = body;
  v.body_truncated = rq["body_truncated"] && rq["body_truncated"].as<bool>();
  session->on_request(v);

  const YAML::Node rs = y["response"];
  HeaderList resp_headers;
  if (rs) {
    resp_headers = headers_of(rs["headers"]);
    const bool sse = is_event_stream(resp_headers);
    session->on_response_head({.status = rs["status"].as<int>(), .headers = &resp_headers, .event_stream = sse});
    std::optional<sse::Parser> parser;
    if (sse) parser.emplace([&](const sse::Event& e) { session->on_sse_event(e.type, e.data); });
    std::string_view rest = f.response_body;
    while (!rest.empty()) {
      const std::string_view p = rest.substr(0, piece);
      rest.remove_prefix(p.size());
      if (parser)
        parser->feed(p);
      else
        session->on_response_body(p);
    }
    if (parser) parser->finish();
  }
  const bool complete = y["complete"] ? y["complete"].as<bool>() : true;
  return session->finish(complete);
}

std::string describe(const CallInfo& c) {
  std::ostringstream o;
  auto opt = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
  o << "provider=" << c.provider << " operation=" << c.operation << " request_model=" << c.request_model
    << " response_model=" << c.response_model << " response_id=" << c.response_id << " stream=" << c.stream
    << " error_type=" << c.error_type << " source=" << to_string(c.usage.source)
    << " input=" << opt(c.usage.input_tokens) << " output=" << opt(c.usage.output_tokens)
    << " cache_read=" << opt(c.usage.cache_read_input_tokens)
    << " cache_write=" << opt(c.usage.cache_write_input_tokens)
    << " reasoning=" << opt(c.usage.reasoning_output_tokens);
  for (const auto& [k, v] : c.attributes) o << ' ' << k << '=' << v;
  return o.str();
}

void check(const Fixture& f, const CallInfo& c) {
  const YAML::Node e = f.y["expect"];
  REQUIRE(e);
  INFO(describe(c));
  CHECK(c.provider == str(f.y, "provider"));
  for (const char* key : {"operation", "request_model", "response_model", "response_id"}) {
    if (!e[key]) continue;
    const std::string want = e[key].IsNull() ? std::string() : e[key].as<std::string>();
    const std::string& got = std::string_view(key) == "operation"       ? c.operation
                             : std::string_view(key) == "request_model" ? c.request_model
                             : std::string_view(key) == "response_model" ? c.response_model
                                                                         : c.response_id;
    INFO(key);
    CHECK(got == want);
  }
  if (e["stream"]) CHECK(c.stream == e["stream"].as<bool>());
  CHECK(c.error_type == str(e, "error_type"));
  const YAML::Node u = e["usage"];
  if (!u) {
    CHECK(c.usage.source == UsageSource::none);
    CHECK_FALSE(c.usage.input_tokens);
    CHECK_FALSE(c.usage.output_tokens);
    CHECK_FALSE(c.usage.cache_read_input_tokens);
    CHECK_FALSE(c.usage.cache_write_input_tokens);
    CHECK_FALSE(c.usage.reasoning_output_tokens);
  } else {
    CHECK(std::string(to_string(c.usage.source)) == str(u, "source"));
    const std::pair<const char*, const std::optional<std::int64_t>*> counts[] = {
        {"input", &c.usage.input_tokens},
        {"output", &c.usage.output_tokens},
        {"cache_read", &c.usage.cache_read_input_tokens},
        {"cache_write", &c.usage.cache_write_input_tokens},
        {"reasoning", &c.usage.reasoning_output_tokens}};
    for (const auto& [key, got] : counts) {
      INFO(key);
      if (u[key]) {
        REQUIRE(got->has_value());
        CHECK(**got == u[key].as<std::int64_t>());
      } else {
        CHECK_FALSE(got->has_value());
      }
    }
  }
  if (const YAML::Node a = e["attributes"]) {
    for (const auto& kv : a) {
      const auto key = kv.first.as<std::string>();
      const auto want = kv.second.as<std::string>();
      INFO("attribute " << key);
      const auto it = std::find_if(c.attributes.begin(), c.attributes.end(),
                                   [&](const auto& p) { return p.first == key; });
      REQUIRE(it != c.attributes.end());
      CHECK(it->second == want);
    }
  }
}

std::vector<Fixture> load_fixtures() {
  // Paths are sorted before loading: YAML::Node assignment aliases, so Nodes must not be shuffled.
  std::vector<fs::path> paths;
  const char* filter = std::getenv("SM_FIXTURES");
  for (const auto& de : fs::recursive_directory_iterator(SM_FIXTURE_DIR)) {
    if (!de.is_regular_file() || de.path().extension() != ".yaml") continue;
    const std::string rel = fs::relative(de.path(), SM_FIXTURE_DIR).string();
    if (filter && rel.find(filter) == std::string::npos) continue;
    paths.push_back(de.path());
  }
  std::sort(paths.begin(), paths.end());
  std::vector<Fixture> out;
  out.reserve(paths.size());
  for (const auto& path : paths) {
    Fixture& f = out.emplace_back();
    f.file = fs::relative(path, SM_FIXTURE_DIR).string();
    f.y = YAML::LoadFile(path.string());
    if (const YAML::Node rs = f.y["response"]) {
      if (rs["body"])
        f.response_body = rs["body"].as<std::string>();
      else if (rs["body_base64"])
        REQUIRE(base64_decode(rs["body_base64"].as<std::string>(), f.response_body, 64u << 20));
      else if (rs["eventstream"])
        for (const auto& m : rs["eventstream"]) f.response_body += eventstream_message(m);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("every provider fixture gives its expected result at every split") {
  Registry reg;
  static const auto fixtures = load_fixtures();  // once, not once per section run
  REQUIRE(!fixtures.empty());
  for (const auto& f : fixtures) {
    for (std::size_t piece : {std::size_t{0}, std::size_t{4096}, std::size_t{7}, std::size_t{1}}) {
      const std::size_t n = piece == 0 ? std::max<std::size_t>(f.response_body.size(), 1) : piece;
      if (n == 1 && f.response_body.size() > (64u << 10)) continue;  // byte-by-byte only for small bodies
      DYNAMIC_SECTION(f.file << " (" << str(f.y, "description") << ") pieces of " << n) {
        check(f, replay(reg, f, n));
      }
    }
  }
}

TEST_CASE("the eventstream encoder of the runner computes the CRCs the format defines") {
  // Empty message: total 16, headers 0; prelude CRC of 00 00 00 10 00 00 00 00 is 0x05c248eb.
  YAML::Node m = YAML::Load("{headers: {}}");
  const std::string msg = eventstream_message(m);
  REQUIRE(msg.size() == 16);
  CHECK(static_cast<unsigned char>(msg[8]) == 0x05);
  CHECK(static_cast<unsigned char>(msg[9]) == 0xc2);
  CHECK(static_cast<unsigned char>(msg[10]) == 0x48);
  CHECK(static_cast<unsigned char>(msg[11]) == 0xeb);
}
