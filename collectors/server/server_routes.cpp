// What each route answers, apart from the socket work in http_session.h.
#include <chrono>
#include <exception>
#include <mutex>
#include <stdexcept>

#include "common/excerpt.h"
#include "common/log.h"
#include "server/gzip.h"
#include "server/http_session.h"
#include "server/query_params.h"
#include "server/report_routes.h"
#include "server/traces_request.h"

namespace shadowmeter::collector::detail {
namespace {

using nlohmann::json;

// Error bodies of OTLP/HTTP are google.rpc.Status in JSON; codes are gRPC's.
constexpr int kInvalidArgument = 3;
constexpr int kResourceExhausted = 8;
constexpr int kUnavailable = 14;
constexpr int kUnauthenticated = 16;

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::uint64_t now_unix_nano() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// Store failures seen by queries: logged (without flooding), not echoed to the client.
void log_query_failure(const std::string& what) {
  static std::mutex mu;
  static log::RateLimit limit(5, std::chrono::seconds(60));
  std::lock_guard lock(mu);
  limit.write(log::Level::warn, "query failed: " + what);
}

// A store that answers its ping and still fails the query has a problem retrying will not fix (bad
// data, a statement the database refuses): 500 saying why. One that does not answer is unavailable for
// now: 503 + Retry-After.
Reply query_failure(const ServerState& state, const std::string& what) {
  bool answers = false;
  try {
    answers = state.api.ready && state.api.ready();
  } catch (...) {
  }
  if (!answers) return service_unavailable(state.options, false, "the store is not available, retry later");
  return api_error(http::status::internal_server_error, "the query failed: " + excerpt(what, 300));
}

Reply json_reply(json body) {
  Reply r;
  r.body = dump(body);
  return r;
}

}  // namespace

Reply otlp_error(http::status status, int grpc_code, const std::string& message) {
  Reply r = json_reply({{"code", grpc_code}, {"message", message}});
  r.status = status;
  return r;
}

Reply api_error(http::status status, const std::string& message) {
  Reply r = json_reply({{"error", message}});
  r.status = status;
  return r;
}

Reply unauthorized_reply(bool otlp) {
  const std::string msg = "missing or invalid bearer token";
  Reply r = otlp ? otlp_error(http::status::unauthorized, kUnauthenticated, msg)
                 : api_error(http::status::unauthorized, msg);
  r.headers.emplace_back(http::field::www_authenticate, "Bearer realm=\"shadowmeter\"");
  return r;
}

Reply unauthorized_browser_reply(bool html) {
  Reply r;
  r.status = http::status::unauthorized;
  if (html) {
    r.content_type = "text/html; charset=utf-8";
    r.body = "<!doctype html><title>shadowmeter</title><p>Sign in with any user name and an API token as the "
             "password.</p>\n";
    r.headers.emplace_back(http::field::www_authenticate, "Basic realm=\"shadowmeter\", charset=\"UTF-8\"");
  } else {
    r = api_error(http::status::unauthorized, "missing or invalid bearer token or Basic credentials");
    r.headers.emplace_back(http::field::www_authenticate,
                           "Bearer realm=\"shadowmeter\", Basic realm=\"shadowmeter\", charset=\"UTF-8\"");
  }
  return r;
}

Reply service_unavailable(const ServerOptions& o, bool otlp, const std::string& message) {
  Reply r = otlp ? otlp_error(http::status::service_unavailable, kUnavailable, message)
                 : api_error(http::status::service_unavailable, message);
  r.headers.emplace_back(http::field::retry_after, std::to_string(o.retry_after.count()));
  return r;
}

Reply readyz_reply(bool ready) {
  Reply r;
  r.status = ready ? http::status::ok : http::status::service_unavailable;
  r.content_type = "text/plain; charset=utf-8";
  r.body = ready ? "ready\n" : "not ready: the store does not answer\n";
  return r;
}

Route route_of(std::string_view path) {
  if (path == "/v1/traces") return Route::traces;
  if (path == "/healthz") return Route::healthz;
  if (path == "/readyz") return Route::readyz;
  if (path == "/metrics") return Route::metrics;
  if (path == "/api/v1/calls") return Route::api_calls;
  if (path == "/api/v1/agents") return Route::api_agents;
  if (path.substr(0, kReportsPrefix.size()) == kReportsPrefix) return Route::api_report;
  if (path == "/" || path == "/index.html") return Route::dashboard;
  return Route::not_found;
}

Reply run_query(const ServerState& state, Route route, const std::string& path, const std::string& query_string) {
  const ApiBackend& api = state.api;
  try {
    switch (route) {
      case Route::api_calls: {
        CallFilter filter;
        try {
          filter = parse_calls_query(query_string);
        } catch (const QueryError& e) {
          return api_error(http::status::bad_request, e.what());
        }
        if (!api.query_calls) return service_unavailable(state.options, false, "no store");
        CallPage page;
        try {
          page = api.query_calls(filter);
        } catch (const StoreError&) {
          throw;
        } catch (const std::invalid_argument& e) {
          return api_error(http::status::bad_request, std::string("cursor: ") + e.what());
        }
        json out = json::object();
        out["calls"] = std::move(page.calls);
        out["next_cursor"] = std::move(page.next_cursor);
        Reply r = json_reply(std::move(out));
        r.headers.emplace_back(http::field::cache_control, "no-store");
        return r;
      }
      case Route::api_agents: {
        if (!api.agents) return service_unavailable(state.options, false, "no store");
        if (!query_string.empty())
          return api_error(http::status::bad_request, "this endpoint takes no parameters");
        json agents = api.agents();
        if (!agents.is_array()) agents = json::array();
        Reply r = json_reply({{"agents", std::move(agents)}});
        r.headers.emplace_back(http::field::cache_control, "no-store");
        return r;
      }
      case Route::api_report:
        return report_reply(state, path, query_string);
      case Route::dashboard:
        return dashboard_reply(state, query_string);
      default:
        return api_error(http::status::not_found, "not found");
    }
  } catch (const std::length_error& e) {
    return api_error(http::status::unprocessable_entity,
                     std::string("the answer would be too large: ") + e.what() + "; narrow the range or filters");
  } catch (const std::exception& e) {
    log_query_failure(e.what());
    return query_failure(state, e.what());
  } catch (...) {
    log_query_failure("unknown exception");
    return query_failure(state, "unknown error");
  }
}

IngestPrepared prepare_ingest(ServerState& state, bool gzip, std::string_view body, std::string principal) {
  IngestPrepared out;
  const ServerOptions& o = state.options;
  std::vector<char> inflated;
  std::string_view json_text = body;
  if (gzip) {
    const GunzipResult g = gunzip_bounded(body, static_cast<std::size_t>(o.max_body_bytes), inflated);
    if (g.status == GunzipStatus::too_large) {
      state.metrics.rejected(RejectReason::too_large);
      out.reply = otlp_error(http::status::payload_too_large, kResourceExhausted,
                             "decompressed body larger than " + std::to_string(o.max_body_bytes) + " bytes");
      return out;
    }
    if (g.status == GunzipStatus::malformed) {
      state.metrics.rejected(RejectReason::bad_encoding);
      out.reply = otlp_error(http::status::bad_request, kInvalidArgument, "bad gzip body: " + g.error);
      return out;
    }
    json_text = std::string_view(inflated.data(), inflated.size());
  }
  exporting::OtlpDecodeLimits limits;
  limits.max_spans = o.max_spans;
  limits.max_depth = o.max_json_depth;
  limits.max_decoded_bytes = o.max_decoded_bytes;
  // The parsed documents of all requests together are bounded like the bodies being received.
  std::uint64_t mine = 0;
  limits.reserve = [&state, &mine](std::uint64_t n) {
    if (!state.try_reserve_decoded(n, mine)) return false;
    mine += n;
    return true;
  };
  TracesParse parsed = parse_traces_body(json_text, limits);
  inflated = {};
  state.release_decoded(mine);
  switch (parsed.failure) {
    case exporting::OtlpFailure::none:
      break;
    case exporting::OtlpFailure::malformed:
      state.metrics.rejected(RejectReason::malformed);
      out.reply = otlp_error(http::status::bad_request, kInvalidArgument, parsed.error);
      return out;
    case exporting::OtlpFailure::too_large:
      state.metrics.rejected(RejectReason::too_large);
      out.reply = otlp_error(http::status::payload_too_large, kResourceExhausted, parsed.error);
      return out;
    case exporting::OtlpFailure::busy:
      state.metrics.rejected(RejectReason::backpressure);
      out.reply = service_unavailable(o, true, parsed.error + ", retry later");
      return out;
  }
  state.dimension_drops.record(parsed.dropped_attributes);
  if (parsed.events() == 0) {
    out.reply = json_reply({{"partialSuccess", json::object()}});
    return out;
  }
  out.batch = std::make_shared<IngestBatch>(std::move(parsed.batch));
  out.batch->principal = std::move(principal);
  out.batch->received_unix_nano = now_unix_nano();
  return out;
}

Reply ingest_outcome_reply(ServerState& state, const IngestOutcome& outcome) {
  switch (outcome.status) {
    case IngestOutcome::Status::committed:
      return json_reply({{"partialSuccess", json::object()}});
    case IngestOutcome::Status::store_error:
      state.metrics.rejected(RejectReason::store_error);
      return service_unavailable(state.options, true, "the store could not commit the batch, retry later");
    case IngestOutcome::Status::stopped:
      break;
  }
  return service_unavailable(state.options, true, "the collector is shutting down");
}

}  // namespace shadowmeter::collector::detail
