// The `sluice` command line: submit and query jobs and workflow runs on a
// sluice broker; plan and test SQL models folders.
// `sluice --help` documents every command; exit_codes.h the exit codes.
#pragma once

#include <istream>
#include <ostream>

namespace sluice::cli {

// Runs one command line (argv[0] is the program name) with the given
// standard streams and returns the process exit code. Never throws.
int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err);

}  // namespace sluice::cli
