// The broker's side of systemd's readiness protocol (sd_notify(3), libsystemd):
// a unit of Type=notify waits for READY=1 before it counts the broker as
// started (and starts what is ordered After= it), shows STATUS= in
// `systemctl status`, and knows a reload or a stop is under way.
//
// Each call sends one datagram to $NOTIFY_SOCKET. Without NOTIFY_SOCKET (not
// started by systemd, or a unit of another Type=) each is a no-op. A failed
// send is logged and otherwise ignored: the broker works the same.
#pragma once

#include <string_view>

namespace sluice::broker {

// READY=1: the broker listens (its endpoint is bound, the endpoint file
// written). Also after a reload, to end it.
void NotifyReady();
// RELOADING=1 (with MONOTONIC_USEC=, which systemd 253's Type=notify-reload
// asks for): a reload starts; NotifyReady() when it is done.
void NotifyReloading();
// STOPPING=1: the broker is shutting down.
void NotifyStopping();
// STATUS=text, one line (newlines become spaces).
void NotifyStatus(std::string_view text);

}  // namespace sluice::broker
