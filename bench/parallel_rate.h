// Items per second of one step run for items 0..n-1 on `threads` threads at
// once, each thread taking the next item until none is left: the shape of
// the extract bench's floors (landing_floor.h, handler_floor.h).
#pragma once

#include <functional>
#include <string>

namespace sluice::bench {

// `one(i)` does item i and returns "" or what went wrong; the first error
// stops every thread. Returns items/s, or a negative number after writing
// "<what>: <error>" to stderr.
double ParallelRate(int items, int threads, const std::function<std::string(int)>& one, const std::string& what);

}  // namespace sluice::bench
