#include "broker/bind_policy.h"

#include <arpa/inet.h>

#include <string_view>

namespace sluice::broker {

bool IsLoopbackEndpoint(const std::string& endpoint) {
  std::string_view e(endpoint);
  if (e.starts_with("ipc://") || e.starts_with("inproc://")) return true;
  if (!e.starts_with("tcp://")) return false;
  e.remove_prefix(6);
  // tcp://source;address:port binds `address`... only for connect; a bind
  // takes `interface:port`.
  if (e.find(';') != std::string_view::npos) return false;
  const std::size_t colon = e.rfind(':');
  if (colon == std::string_view::npos) return false;
  std::string host(e.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (host == "localhost") return true;
  in_addr v4{};
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) return IN6_IS_ADDR_LOOPBACK(&v6);
  return false;
}

}  // namespace sluice::broker
