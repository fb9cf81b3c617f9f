// VfsShim: an SQLite VFS over another one that forwards every call, for
// shims that change a few (the fault seam, fault_vfs.h; WAL write
// gathering, wal_batch_vfs.h).
//
// A shim's file starts with a vfs_shim::File (SQLite's header, then a
// pointer to the base VFS's file, which lives right behind the shim's own
// struct in the same allocation); its io methods start from Forwarding()
// and replace what they change.
#pragma once

#include <sqlite3.h>

namespace sluice::vfs_shim {

struct File {
  sqlite3_file base;
  sqlite3_file* real;  // the base VFS's file
};

inline sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }
// The base VFS of a shim made by Over().
inline sqlite3_vfs* Base(sqlite3_vfs* shim) { return static_cast<sqlite3_vfs*>(shim->pAppData); }

// Version 3 io methods, each calling the same method of the real file.
sqlite3_io_methods Forwarding();

// Opens `name` with the base VFS into the space behind a shim file of
// `file_bytes` bytes (that File must start it), and gives it `methods`
// when the base opened it (SQLite closes a file whose methods are set,
// even after a failed open).
int OpenReal(sqlite3_vfs* shim, const char* name, sqlite3_file* f, int file_bytes, const sqlite3_io_methods* methods,
             int flags, int* out_flags);

// A version 2 VFS named `name` over `base`, with files of `file_bytes`
// bytes (a struct starting with File) before the base's, opened by
// `open`; every other call forwarded to `base`.
sqlite3_vfs Over(sqlite3_vfs* base, const char* name, int file_bytes,
                 int (*open)(sqlite3_vfs*, const char*, sqlite3_file*, int, int*));

}  // namespace sluice::vfs_shim
