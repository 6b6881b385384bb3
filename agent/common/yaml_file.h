// One YAML configuration file read whole, with errors that name the file: a missing or unreadable file,
// a directory, a stream read error, or YAML syntax (with line and column). Shared by the agent's and
// the collector's configuration loaders; `Error` is the exception type each one throws.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace shadowmeter {

template <class Error>
YAML::Node read_yaml_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error("cannot read config file '" + path + "': it is a directory, not a file");
  std::ifstream in(path);
  if (!in) throw Error("cannot read config file '" + path + "': " + std::strerror(errno));
  try {
    return YAML::Load(in);
  } catch (const YAML::Exception& e) {
    throw Error(path + ":" + std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) +
                ": not valid YAML: " + e.msg);
  } catch (const std::exception& e) {  // a read error of the stream (std::ios_base::failure)
    throw Error("cannot read config file '" + path + "': " + e.what());
  }
}

}  // namespace shadowmeter
