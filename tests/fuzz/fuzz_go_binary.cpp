// libFuzzer entry: the Go executable reader (ELF view, build info, pclntab, RET finder) on bytes
// an attacker controls (any executable in any container). Seeds: small ELF files made by
// make_corpus_go.py from a real Go binary's headers and tables.
#include <cstring>
#include <vector>

#include "fuzz_common.h"
#include "probes/gotls/go_binary.h"

using namespace shadowmeter::probes::gotls;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An exact-size copy, so reads past the end are caught by ASan.
  std::vector<std::uint8_t> img(data, data + size);
  const auto r = inspect_go_binary(Bytes(img.data(), img.size()), 62 /* EM_X86_64 */);
  SM_FUZZ_CHECK(r.is_go || r.refusal.empty());
  if (r.is_go && r.refusal.empty()) {
    for (const GoFunction* f : {&r.write, &r.read}) {
      SM_FUZZ_CHECK(f->entry < size);
      SM_FUZZ_CHECK(!f->rets.empty());
      for (auto ret : f->rets)
        SM_FUZZ_CHECK(ret >= f->entry && ret < size);  // a RET may be the first instruction
    }
  }
  SM_FUZZ_CHECK(r.go_version.size() <= 128);
  return 0;
}
