// A finished HTTP exchange with an AI host: what capture hands to enrichment and export.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "capture/chunk.h"
#include "protocols/secure_clear.h"
#include "providers/provider.h"
#include "providers/usage.h"

namespace shadowmeter::capture {

struct Exchange {
  ConnKey key;
  std::int32_t fd = -1;
  Peer peer;
  std::string comm;
  std::uint32_t tap = 0;       // enum sm_tap of the connection's first chunk
  std::uint64_t start_ns = 0;  // monotonic: first request byte seen
  std::uint64_t end_ns = 0;    // monotonic: last response byte seen
  std::string host;            // from Host, without port
  std::uint16_t port = 0;      // from Host, else the peer port, else 443
  std::string method;
  std::string path;            // request target without the query string
  int status = 0;              // 0: no response seen
  std::string protocol_version = "1.1";
  providers::CallInfo call;
  std::string error_type;      // capture/HTTP-level error ("" when none)
  // Only the response was read (the probes came after the request was sent): method, path and the
  // request-side fields are absent, the host is the one the connection's ClientHello named.
  bool request_missed = false;
  // Set by CaptureCallbacks::credential from the request head before it is wiped.
  std::string api_key_fingerprint;
  std::string api_key_hint;
  // The credential itself, kept only until the event is scrubbed of it (then wiped).
  SecretString credential;
  // Configured request-body fields read while the provider scanned the body (null: none configured).
  std::unique_ptr<providers::BodyTap> body_tap;
  // shadowmeter.dimension.* / shadowmeter.tag.* attributes, set by CaptureCallbacks::request_fields.
  std::vector<std::pair<std::string, std::string>> dimensions;
};

}  // namespace shadowmeter::capture
