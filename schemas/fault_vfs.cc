#include "schemas/fault_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <mutex>

#include "schemas/vfs_shim.h"

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

using vfs_shim::Real;

int Write(sqlite3_file* f, const void* p, int n, sqlite3_int64 off) {
  if (int rc = Check(Op::kWrite); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xWrite(Real(f), p, n, off);
}
int Truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (int rc = Check(Op::kWrite); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int Sync(sqlite3_file* f, int flags) {
  if (int rc = Check(Op::kSync); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xSync(Real(f), flags);
}
int Lock(sqlite3_file* f, int level) {
  if (level >= SQLITE_LOCK_RESERVED)
    if (int rc = Check(Op::kLock); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xLock(Real(f), level);
}
int ShmLock(sqlite3_file* f, int offset, int n, int flags) {
  if ((flags & SQLITE_SHM_LOCK) && (flags & SQLITE_SHM_EXCLUSIVE))
    if (int rc = Check(Op::kLock); rc != SQLITE_OK) return rc;
  return Real(f)->pMethods->xShmLock(Real(f), offset, n, flags);
}

const sqlite3_io_methods kMethods = [] {
  sqlite3_io_methods m = vfs_shim::Forwarding();
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xLock = Lock;
  m.xShmLock = ShmLock;
  return m;
}();

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  return vfs_shim::OpenReal(vfs, name, f, sizeof(vfs_shim::File), &kMethods, flags, out_flags);
}

sqlite3_vfs g_vfs;

}  // namespace

bool Register() {
  static std::once_flag once;
  static bool ok = false;
  std::call_once(once, [] {
    sqlite3_initialize();
    sqlite3_vfs* real = sqlite3_vfs_find(nullptr);
    if (real == nullptr || real->iVersion < 2) return;
    g_vfs = vfs_shim::Over(real, kVfsName, sizeof(vfs_shim::File), Open);
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
