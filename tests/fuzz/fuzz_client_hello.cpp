// libFuzzer entry: the ClientHello reader (SNI, ALPN) on arbitrary first writes of a socket.
#include <string_view>

#include "fuzz_common.h"
#include "netconn/client_hello.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  const auto h = shadowmeter::netconn::parse_client_hello(in);
  SM_FUZZ_CHECK(h.sni.size() <= 253);
  SM_FUZZ_CHECK(h.alpn.size() <= 16);
  SM_FUZZ_CHECK(h.status != shadowmeter::netconn::HelloStatus::ok || (size >= 5 && data[0] == 0x16));
  // A prefix never yields a name the whole did not contain.
  const auto p = shadowmeter::netconn::parse_client_hello(in.substr(0, size / 2));
  SM_FUZZ_CHECK(h.status == shadowmeter::netconn::HelloStatus::malformed || p.sni.empty() || p.sni == h.sni);
  return 0;
}
