// The dashboard's stylesheet (inlined in every page; nothing is fetched).
#pragma once

#include <string_view>

namespace shadowmeter::collector::dashboard {

std::string_view stylesheet();

}  // namespace shadowmeter::collector::dashboard
