// Which endpoints a broker without CURVE may bind.
//
// Without --curve-key anyone who reaches the port could submit jobs (and,
// through a worker that runs `exec`, run commands), so the broker binds only
// endpoints no other host can reach: tcp on a loopback address (127.0.0.0/8,
// ::1, localhost), ipc:// and inproc://. Anything else (tcp://*:…,
// tcp://0.0.0.0:…, a LAN address, an interface name, other transports)
// needs --curve-key, or --insecure on purpose.
#pragma once

#include <string>

namespace sluice::broker {

bool IsLoopbackEndpoint(const std::string& endpoint);

}  // namespace sluice::broker
