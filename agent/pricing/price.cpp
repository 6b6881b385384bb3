#include "pricing/price.h"

#include <algorithm>
#include <cmath>

namespace shadowmeter::pricing {
namespace {

// `count` tokens at `price`; false when tokens exist but no price does.
bool add(double& total, std::int64_t count, const std::optional<double>& price) {
  if (count == 0) return true;
  if (!price) return false;
  total += static_cast<double>(count) * *price;
  return true;
}

const std::optional<double>& tiered(bool long_context, const std::optional<double>& above,
                                    const std::optional<double>& base) {
  return long_context && above ? above : base;
}

}  // namespace

std::optional<double> cost_usd(const Price& p, const providers::Usage& u) {
  if (!u.input_tokens && !u.output_tokens) return std::nullopt;
  const std::int64_t input = u.input_tokens.value_or(0);
  const std::int64_t output = u.output_tokens.value_or(0);
  const std::int64_t cache_read = u.cache_read_input_tokens.value_or(0);
  const std::int64_t cache_creation = u.cache_write_input_tokens.value_or(0);
  const std::int64_t reasoning_reported = u.reasoning_output_tokens.value_or(0);
  if (input < 0 || output < 0 || cache_read < 0 || cache_creation < 0 || reasoning_reported < 0)
    return std::nullopt;

  const bool long_context = input > kLongContextThreshold;
  const auto& input_price = tiered(long_context, p.input_above_200k, p.input);
  const auto& output_price = tiered(long_context, p.output_above_200k, p.output);
  const auto& read_price = tiered(long_context, p.cache_read_above_200k, p.cache_read);
  const auto& write_price = tiered(long_context, p.cache_creation_above_200k, p.cache_creation);

  // Saturating subtraction: the parts are each at most INT64_MAX, so neither step overflows.
  const std::int64_t uncached =
      std::max<std::int64_t>(0, std::max<std::int64_t>(0, input - cache_read) - cache_creation);
  // Output includes reasoning; a reasoning count above the output count is not trusted beyond it.
  const std::int64_t reasoning = p.reasoning ? std::min(reasoning_reported, output) : 0;

  double usd = 0;
  const bool ok = add(usd, uncached, input_price) &&
                  add(usd, cache_read, read_price ? read_price : input_price) &&
                  add(usd, cache_creation, write_price ? write_price : input_price) &&
                  add(usd, output - reasoning, output_price) && add(usd, reasoning, p.reasoning);
  if (!ok || !std::isfinite(usd)) return std::nullopt;
  return usd;
}

}  // namespace shadowmeter::pricing
