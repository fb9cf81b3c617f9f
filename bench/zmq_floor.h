// The transport's floor for the latency phase: the same four messages a job
// makes (producer -> broker -> worker -> broker -> producer) relayed by
// libzmq alone, with no state, no work and no commits, paced like the
// latency phase. Three threads, each with its own zmq context (so its own
// I/O thread), over TCP on 127.0.0.1: a lower bound for any design that
// relays a job through a broker to a worker over ZeroMQ on this machine
// (threads of one process switch more cheaply than processes do).
#pragma once

#include <cstdint>

namespace sluice::bench {

struct FloorResult {
  long messages = 0;
  double p50_us = 0, p90_us = 0, p99_us = 0, max_us = 0;
};

// Sends `count` messages, `per_tick` every `tick_us` on an absolute schedule;
// each one's latency runs from its scheduled send until its echo is back.
// False (and a message on stderr) when the relay could not be set up or an
// echo was missing after `deadline_s`.
bool MeasureZmqFloor(long count, long per_tick, long tick_us, long deadline_s, FloorResult* out);

}  // namespace sluice::bench
