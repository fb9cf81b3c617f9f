// The status page's files (broker/status_page/), compiled into the binary
// by CMake (broker/status_page/embed.cmake): nothing is loaded from disk or
// from the network when the page is served.
#pragma once

#include <string_view>
#include <vector>

namespace sluice::broker {

struct StatusPageFile {
  const char* path;          // "/", "/status.css", "/status.js"
  const char* content_type;
  std::string_view body;
};

const std::vector<StatusPageFile>& StatusPageFiles();

}  // namespace sluice::broker
