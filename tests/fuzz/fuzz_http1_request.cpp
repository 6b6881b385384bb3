// libFuzzer entry: the request-direction HTTP/1 parser (see fuzz_http1.h for the input layout).
#include "fuzz_http1.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return shadowmeter::fuzz::run_http1(shadowmeter::http1::Role::request, data, size);
}
