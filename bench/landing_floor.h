// What landing alone costs on this disk: the extract stage's own landing
// steps (workers/landing_zone.h: an unnamed temp file in the partition, the
// body written, the file fsynced, linked under its name, the folder fsynced,
// shared between slots) for `files` files of `bytes` bytes on `threads`
// threads at once, with no HTTP, gzip, hash, broker or worker around them.
// The same durability every landed file gets; the least the extract bench's
// first run can cost per file.
#pragma once

#include <cstddef>
#include <string>

namespace sluice::bench {

// Files per second, or a negative number (and a message on stderr) when a
// file could not be landed.
double MeasureLandingFloor(const std::string& landing_dir, int files, int threads, std::size_t bytes);

}  // namespace sluice::bench
