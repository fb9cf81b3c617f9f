// FaultVfs: the fault seam for SQLite. A VFS named "sluice-fault" that
// forwards everything to the default VFS, except where a test has armed a
// fault: then writes fail with SQLITE_FULL or an I/O error, fsyncs fail, or
// exclusive locks are refused with SQLITE_BUSY.
//
// Nothing uses it unless a database is opened with its name (the broker's
// BrokerConfig::state_vfs); the rules are process-wide and thread-safe, so
// a test thread can arm a fault while the broker's loop runs.
#pragma once

#include <cstdint>

namespace sluice::fault {

inline constexpr const char* kVfsName = "sluice-fault";

enum class Op {
  kWrite,  // xWrite (and xTruncate): e.g. SQLITE_FULL, SQLITE_IOERR_WRITE
  kSync,   // xSync: e.g. SQLITE_IOERR_FSYNC
  kLock,   // exclusive locks, in WAL mode the write lock: SQLITE_BUSY
};

// Registers the VFS (once; later calls do nothing). False when SQLite
// refused it.
bool Register();
// From now on, `op` fails with `sqlite_code`: `times` times, or until
// Clear() when `times` is negative.
void Arm(Op op, int sqlite_code, int times = -1);
// Every op works again.
void Clear();
// How many operations failed because of an armed fault, since the start.
std::int64_t Injected();

}  // namespace sluice::fault
