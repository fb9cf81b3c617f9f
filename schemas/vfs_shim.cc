#include "schemas/vfs_shim.h"

namespace sluice::vfs_shim {
namespace {

sqlite3_file* R(sqlite3_file* f) { return Real(f); }

int Close(sqlite3_file* f) { return R(f)->pMethods->xClose(R(f)); }
int Read(sqlite3_file* f, void* p, int n, sqlite3_int64 off) { return R(f)->pMethods->xRead(R(f), p, n, off); }
int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  return R(f)->pMethods->xWrite(R(f), p, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) { return R(f)->pMethods->xTruncate(R(f), size); }
int Sync(sqlite3_file* f, int flags) { return R(f)->pMethods->xSync(R(f), flags); }
int FileSize(sqlite3_file* f, sqlite3_int64* size) { return R(f)->pMethods->xFileSize(R(f), size); }
int Lock(sqlite3_file* f, int level) { return R(f)->pMethods->xLock(R(f), level); }
int Unlock(sqlite3_file* f, int level) { return R(f)->pMethods->xUnlock(R(f), level); }
int CheckReserved(sqlite3_file* f, int* out) { return R(f)->pMethods->xCheckReservedLock(R(f), out); }
int FileControl(sqlite3_file* f, int op, void* arg) { return R(f)->pMethods->xFileControl(R(f), op, arg); }
int SectorSize(sqlite3_file* f) { return R(f)->pMethods->xSectorSize(R(f)); }
int DeviceCharacteristics(sqlite3_file* f) { return R(f)->pMethods->xDeviceCharacteristics(R(f)); }
int ShmMap(sqlite3_file* f, int region, int size, int extend, void volatile** p) {
  return R(f)->pMethods->xShmMap(R(f), region, size, extend, p);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) { return R(f)->pMethods->xShmLock(R(f), offset, n, flags); }
void ShmBarrier(sqlite3_file* f) { R(f)->pMethods->xShmBarrier(R(f)); }
int ShmUnmap(sqlite3_file* f, int del) { return R(f)->pMethods->xShmUnmap(R(f), del); }
int Fetch(sqlite3_file* f, sqlite3_int64 off, int n, void** p) { return R(f)->pMethods->xFetch(R(f), off, n, p); }
int Unfetch(sqlite3_file* f, sqlite3_int64 off, void* p) { return R(f)->pMethods->xUnfetch(R(f), off, p); }

int Delete(sqlite3_vfs* v, const char* n, int sync) { return Base(v)->xDelete(Base(v), n, sync); }
int Access(sqlite3_vfs* v, const char* n, int flags, int* out) { return Base(v)->xAccess(Base(v), n, flags, out); }
int FullPathname(sqlite3_vfs* v, const char* n, int size, char* out) {
  return Base(v)->xFullPathname(Base(v), n, size, out);
}
void* DlOpen(sqlite3_vfs* v, const char* n) { return Base(v)->xDlOpen(Base(v), n); }
void DlError(sqlite3_vfs* v, int n, char* out) { Base(v)->xDlError(Base(v), n, out); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* s))(void) { return Base(v)->xDlSym(Base(v), h, s); }
void DlClose(sqlite3_vfs* v, void* h) { Base(v)->xDlClose(Base(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* out) { return Base(v)->xRandomness(Base(v), n, out); }
int Sleep(sqlite3_vfs* v, int us) { return Base(v)->xSleep(Base(v), us); }
int CurrentTime(sqlite3_vfs* v, double* out) { return Base(v)->xCurrentTime(Base(v), out); }
int GetLastError(sqlite3_vfs* v, int n, char* out) { return Base(v)->xGetLastError(Base(v), n, out); }
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) { return Base(v)->xCurrentTimeInt64(Base(v), out); }

}  // namespace

sqlite3_io_methods Forwarding() {
  return sqlite3_io_methods{
      3,          Close,   Read,         Write,         Truncate,       Sync,
      FileSize,   Lock,    Unlock,       CheckReserved, FileControl,    SectorSize,
      DeviceCharacteristics, ShmMap, ShmLock, ShmBarrier, ShmUnmap, Fetch, Unfetch,
  };
}

int OpenReal(sqlite3_vfs* shim, const char* name, sqlite3_file* f, int file_bytes, const sqlite3_io_methods* methods,
             int flags, int* out_flags) {
  File* file = reinterpret_cast<File*>(f);
  file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + file_bytes);
  file->real->pMethods = nullptr;
  const int rc = Base(shim)->xOpen(Base(shim), name, file->real, flags, out_flags);
  file->base.pMethods = file->real->pMethods != nullptr ? methods : nullptr;
  return rc;
}

sqlite3_vfs Over(sqlite3_vfs* base, const char* name, int file_bytes,
                 int (*open)(sqlite3_vfs*, const char*, sqlite3_file*, int, int*)) {
  sqlite3_vfs v{};
  v.iVersion = 2;
  v.szOsFile = file_bytes + base->szOsFile;
  v.mxPathname = base->mxPathname;
  v.zName = name;
  v.pAppData = base;
  v.xOpen = open;
  v.xDelete = Delete;
  v.xAccess = Access;
  v.xFullPathname = FullPathname;
  v.xDlOpen = DlOpen;
  v.xDlError = DlError;
  v.xDlSym = DlSym;
  v.xDlClose = DlClose;
  v.xRandomness = Randomness;
  v.xSleep = Sleep;
  v.xCurrentTime = CurrentTime;
  v.xGetLastError = GetLastError;
  v.xCurrentTimeInt64 = CurrentTimeInt64;
  return v;
}

}  // namespace sluice::vfs_shim
