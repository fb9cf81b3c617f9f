// What the extract stage's own work costs without the job system: the
// extract.http handler (workers/builtin_handlers.h) called directly for
// each URL on `threads` threads at once, in this process. Each call does
// what a slot of the worker does for a job (the transfer on the thread's
// kept curl handles, gzip, SHA-256, the temp file, fsync, link, the shared
// folder fsync) with no broker, no ZeroMQ, no worker loop, no JOB or RESULT
// and nothing recorded. The most files/s any job system around this handler
// could reach on this machine; sluice's first run ÷ this is what the job
// system keeps of it.
#pragma once

#include <string>
#include <vector>

namespace sluice::bench {

// Files per second, or a negative number (and a message on stderr) when a
// call did not succeed or did not land its file.
double MeasureHandlerFloor(const std::string& landing_dir, const std::vector<std::string>& urls,
                           const std::string& source, const std::string& date, int threads);

}  // namespace sluice::bench
