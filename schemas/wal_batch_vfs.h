// WalBatchVfs: one write(2) per WAL commit instead of two per page.
//
// SQLite appends a transaction to the WAL as frames, each a 24-byte header
// and a page, with a write call for each: a commit of three pages is six
// pwrite(2)s, on a machine where a system call costs several µs. This VFS
// passes everything to the VFS beneath it, except that writes to a WAL file
// that continue one another are gathered in memory and written as one:
//
//  * when the commit frame's page has been gathered (the commit frame is the
//    one whose header carries the database size), inside that xWrite, so a
//    failed write fails the commit, before SQLite publishes the frames in
//    the WAL index;
//  * before anything else touches the file (a read, a sync, a truncate, its
//    size, a file control, close) or a write elsewhere in it;
//  * when 64 KiB is gathered (a transaction of more than 15 pages).
//
// So what other connections can see (committed frames) is always in the
// file, a sync syncs everything written, and an error reaches SQLite as the
// error of the call that would have made it. A transaction whose commit
// never came (rolled back, the process killed) loses frames that nothing
// would ever read. The database file and the journals of other modes are
// not touched, nor a WAL on a device without power-safe overwrite (there
// SQLite pads commits to a sector and splits writes around a sync).
#pragma once

#include <cstdint>

namespace sluice::walbatch {

// Registers (once per base) a VFS over `base_vfs` (a registered VFS's name;
// nullptr: the default VFS) and returns its name, or nullptr if SQLite
// refused. The name lives as long as the process.
const char* Register(const char* base_vfs = nullptr);

// Counts since the start, for tests and the bench: writes SQLite asked for
// on WAL files, and writes made to the VFS beneath.
struct Counts {
  std::int64_t writes_in = 0;
  std::int64_t writes_out = 0;
};
Counts Totals();

}  // namespace sluice::walbatch
