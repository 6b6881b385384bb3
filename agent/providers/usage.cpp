#include "providers/usage.h"

namespace shadowmeter::providers {

const char* to_string(UsageSource s) {
  switch (s) {
    case UsageSource::response:
      return "response";
    case UsageSource::stream:
      return "stream";
    case UsageSource::header:
      return "header";
    case UsageSource::estimated:
      return "estimated";
    case UsageSource::none:
      return "none";
  }
  return "none";
}

}  // namespace shadowmeter::providers
