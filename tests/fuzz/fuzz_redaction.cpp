// libFuzzer entry: the command-line formatter on arbitrary argv bytes, in every mode, with a known
// key planted between separators. Invariants: no crash, the output bounded, the planted key never
// in the output.
#include <string>
#include <string_view>

#include "fuzz_common.h"
#include "redaction/command_line.h"

namespace {

constexpr std::string_view kKeys[] = {
    "sk-proj-Zq4bT9xLm2Wv7Ra1Kc8Yd3Hn6Jp0Sg5Ue",
    "sk-ant-api03-Q7w2E9r4T6y1U8i3O5p0A2s7D4f9G1h6J3k8L5z0X2c7V4b9N1m6-AbCdEfAA",
    "AIzaSyD4x9Q2w7E1r6T3y8U5i0O2p7A4s9D1f6G",
    "AKIAQ7W2E9R4T6Y1U8I3",
    "hf_Q7w2E9r4T6y1U8i3O5p0A2s7D4f9G1h6J3",
    "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",
    "xai-Q7w2E9r4T6y1U8i3O5p0A2s7D4f9G1h6J3k8L5z0X2c7V4b9N1m6",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIn0.dBjftJeZ4CVPmB92K27uhbUJU1p1r_wW1gFWFOEjXk",
    "Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",  // no prefix (Mistral-like)
};
// What may stand right before and after a key in a command line.
constexpr std::string_view kSeparators = std::string_view(" \0\"'=:,;{}[]()<>|&?#/\\\t\n@", 25);

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  shadowmeter::fuzz::Input in{data, size};
  const std::uint8_t mode_byte = in.byte();
  const std::uint8_t key_byte = in.byte();
  const std::uint8_t before = in.byte();
  const std::uint8_t after = in.byte();
  const std::uint8_t at_byte = in.byte();
  const std::uint8_t len_byte = in.byte();
  const std::string_view rest = in.rest();
  using shadowmeter::redaction::CommandLineMode;
  const CommandLineMode mode = mode_byte % 3 == 0   ? CommandLineMode::full
                               : mode_byte % 3 == 1 ? CommandLineMode::redacted
                                                    : CommandLineMode::executable;
  const std::size_t max_len = 16 + static_cast<std::size_t>(len_byte) * 32;

  // Unplanted: any bytes at all.
  const std::string plain = shadowmeter::redaction::format_command_line(rest, mode, max_len);
  SM_FUZZ_CHECK(plain.size() <= max_len);

  // Planted: the fuzzer's bytes around one key, a separator on each side.
  const std::string_view key = kKeys[key_byte % std::size(kKeys)];
  const std::size_t at = rest.empty() ? 0 : (static_cast<std::size_t>(at_byte) * rest.size()) / 255;
  std::string argv(rest.substr(0, at));
  argv += kSeparators[before % kSeparators.size()];
  argv += key;
  argv += kSeparators[after % kSeparators.size()];
  argv += rest.substr(at);
  const std::string out = shadowmeter::redaction::format_command_line(argv, mode, max_len);
  SM_FUZZ_CHECK(out.size() <= max_len);
  // (A key the fuzzer wrote itself, glued to other letters, is no planted key: only ours must go.)
  if (rest.find(key) == std::string_view::npos) SM_FUZZ_CHECK(out.find(key) == std::string::npos);
  return 0;
}
