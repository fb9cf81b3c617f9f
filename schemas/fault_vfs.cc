#include "schemas/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <mutex>

namespace sluice::fault {
namespace {

struct Rule {
  std::atomic<int> code{0};       // 0: not armed
  std::atomic<int> remaining{0};  // < 0: until cleared
};

Rule g_rules[3];
std::atomic<std::int64_t> g_injected{0};

// The armed error for `op`, or SQLITE_OK.
int Check(Op op) {
  Rule& r = g_rules[static_cast<int>(op)];
  const int code = r.code.load();
  if (code == 0) return SQLITE_OK;
  int left = r.remaining.load();
  while (true) {
    if (left == 0) return SQLITE_OK;
    if (left < 0) break;
    if (r.remaining.compare_exchange_weak(left, left - 1)) break;
  }
  g_injected++;
  return code;
}

sqlite3_vfs* Real(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// Our file: the default VFS's file lives right behind it.
struct File {
  sqlite3_file base;
  sqlite3_file* real;
};

sqlite3_file* R(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

int Close(sqlite3_file* f) { return R(f)->pMethods->xClose(R(f)); }
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) { return R(f)->pMethods->xRead(R(f), p, n, off); }
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  if (int rc = Check(Op::kWrite); rc != SQLITE_OK) return rc;
  return R(f)->pMethods->xWrite(R(f), p, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Check(Op::kWrite); rc != SQLITE_OK) return rc;
  return R(f)->pMethods->xTruncate(R(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Check(Op::kSync); rc != SQLITE_OK) return rc;
  return R(f)->pMethods->xSync(R(f), flags);
}
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return R(f)->pMethods->xFileSize(R(f), size); }
int Lock(sqlite3_file* f, int level) {
  if (level >= SQLITE_LOCK_RESERVED)
    if (int rc = Check(Op::kLock); rc != SQLITE_OK) return rc;
  return R(f)->pMethods->xLock(R(f), level);
}
int Unlock(sqlite3_file* f, int level) { return R(f)->pMethods->xUnlock(R(f), level); }
int CheckReserved(sqlite3_file* f, int* out) { return R(f)->pMethods->xCheckReservedLock(R(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return R(f)->pMethods->xFileControl(R(f), op, arg); }
int SectorSize(sqlite3_file* f) { return R(f)->pMethods->xSectorSize(R(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return R(f)->pMethods->xDeviceCharacteristics(R(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
  return R(f)->pMethods->xShmMap(R(f), region, size, extend, p);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE))
    if (int rc = Check(Op::kLock); rc != SQLITE_OK) return rc;
  return R(f)->pMethods->xShmLock(R(f), offset, n, flags);
}
void ShmBarrier(sqlite3_file* f) { R(f)->pMethods->xShmBarrier(R(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return R(f)->pMethods->xShmUnmap(R(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** p) { return R(f)->pMethods->xFetch(R(f), off, n, p); }
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return R(f)->pMethods->xUnfetch(R(f), off, p); }

const sqlite3_io_methods kMethods = {
    3,          Close,   Read,         Write,         Truncate,       Sync,
    FileSize,   Lock,    Unlock,       CheckReserved, FileControl,    SectorSize,
    DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch, Unfetch,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(file + 1);
  file->real->pMethods = nullptr;
  int rc = Real(vfs)->xOpen(Real(vfs), name, file->real, flags, out_flags);
  // SQLite calls xClose whenever pMethods is set, even after a failed open.
  file->base.pMethods = file->real->pMethods != nullptr ? &kMethods : nullptr;
  return rc;
}
int Delete(sqlite3_vfs* v, const char* n, int sync) { return Real(v)->xDelete(Real(v), n, sync); }
int Access(sqlite3_vfs* v, const char* n, int flags, int* out) { return Real(v)->xAccess(Real(v), n, flags, out); }
int FullPathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return Real(v)->xFullPathname(Real(v), n, size, out);
}
void* DlOpen(sqlite3_vfs* v, const char* n) { return Real(v)->xDlOpen(Real(v), n); }
void DlError(sqlite3_vfs* v, int n, char* out) { Real(v)->xDlError(Real(v), n, out); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* s))(void) { return Real(v)->xDlSym(Real(v), h, s); }
void DlClose(sqlite3_vfs* v, void* h) { Real(v)->xDlClose(Real(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* out) { return Real(v)->xRandomness(Real(v), n, out); }
int Sleep(sqlite3_vfs* v, int us) { return Real(v)->xSleep(Real(v), us); }
int CurrentTime(sqlite3_vfs* v, double* out) { return Real(v)->xCurrentTime(Real(v), out); }
int GetLastError(sqlite3_vfs* v, int n, char* out) { return Real(v)->xGetLastError(Real(v), n, out); }
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) { return Real(v)->xCurrentTimeInt64(Real(v), out); }

sqlite3_vfs g_vfs;

}  // namespace

bool Register() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    sqlite3_initialize();
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return;
    g_vfs = sqlite3_vfs{};
    g_vfs.iVersion = 2;
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + real->szOsFile;
    g_vfs.mxPathname = real->mxPathname;
    g_vfs.zName = kVfsName;
    g_vfs.pAppData = real;
    g_vfs.xOpen = Open;
    g_vfs.xDelete = Delete;
    g_vfs.xAccess = Access;
    g_vfs.xFullPathname = FullPathname;
    g_vfs.xDlOpen = DlOpen;
    g_vfs.xDlError = DlError;
    g_vfs.xDlSym = DlSym;
    g_vfs.xDlClose = DlClose;
    g_vfs.xRandomness = Randomness;
    g_vfs.xSleep = Sleep;
    g_vfs.xCurrentTime = CurrentTime;
    g_vfs.xGetLastError = GetLastError;
    g_vfs.xCurrentTimeInt64 = CurrentTimeInt64;
    ok = sqlite3_vfs_register(&g_vfs, /*makeDflt=*/0) == SQLITE_OK;
  });
  return ok;
}

void Arm(Op op, int sqlite_code, int times) {
  Rule& r = g_rules[static_cast<int>(op)];
  r.remaining = times;
  r.code = sqlite_code;
}

void Clear() {
  for (Rule& r : g_rules) {
    r.code = 0;
    r.remaining = 0;
  }
}

std::int64_t Injected() { return g_injected.load(); }

}  // namespace sluice::fault
