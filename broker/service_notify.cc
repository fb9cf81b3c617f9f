#include "broker/service_notify.h"

#include <systemd/sd-daemon.h>

#include <cstring>
#include <ctime>
#include <string>

#include "broker/log.h"

namespace sluice::broker {

namespace {

// sd_notify: > 0 sent, 0 no NOTIFY_SOCKET (not under systemd), < 0 -errno.
// NOTIFY_SOCKET stays set (unset_environment = 0): later calls use it too.
void Send(const std::string& state) {
  const int r = sd_notify(0, state.c_str());
  if (r < 0) Logf("sd_notify(%s): %s", state.substr(0, state.find('\n')).c_str(), std::strerror(-r));
}

}  // namespace

void NotifyReady() { Send("READY=1"); }

void NotifyReloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  const unsigned long long usec =
      static_cast<unsigned long long>(ts.tv_sec) * 1000000ull + static_cast<unsigned long long>(ts.tv_nsec) / 1000ull;
  Send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void NotifyStopping() { Send("STOPPING=1"); }

void NotifyStatus(std::string_view text) {
  std::string state = "STATUS=";
  for (char c : text) state += (c == '\n' || c == '\r') ? ' ' : c;
  Send(state);
}

}  // namespace sluice::broker
