#include "schemas/wal_batch_vfs.h"

#include <sqlite3.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "schemas/vfs_shim.h"

namespace sluice::walbatch {
namespace {

constexpr int kFrameHeaderBytes = 24;
// SQLite's unix VFS writes less than 128 KiB per call (larger writes fail
// with SQLITE_FULL), and SQLite itself never asks for more than a 64 KiB
// page and its header: 64 KiB gathered at most (15 frames of 4 KiB pages).
constexpr std::int64_t kMaxGathered = 64 * 1024;

std::atomic<std::int64_t> g_writes_in{0};
std::atomic<std::int64_t> g_writes_out{0};

// Our file; the base VFS's file lives right behind it. Plain data: SQLite
// allocates it, and calls xClose only when pMethods is set.
struct File {
  vfs_shim::File shim;
  bool wal;
  char* buf;               // kMaxGathered bytes (malloc, on the first write), written at `buf_offset`
  std::int64_t buf_len;
  sqlite3_int64 buf_offset;
  bool commit_header;      // the last write gathered was a commit frame's header
};

File* F(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* R(sqlite3_file* f) { return vfs_shim::Real(f); }

int Flush(File* f) {
  f->commit_header = false;
  if (f->buf_len == 0) return SQLITE_OK;
  const int n = static_cast<int>(f->buf_len);
  f->buf_len = 0;
  g_writes_out++;
  return R(&f->shim.base)->pMethods->xWrite(R(&f->shim.base), f->buf, n, f->buf_offset);
}

// Appends to the gathered bytes, which Write() keeps within kMaxGathered.
bool Gather(File* f, const void* p, int n) {
  if (f->buf == nullptr && (f->buf = static_cast<char*>(std::malloc(kMaxGathered))) == nullptr) return false;
  std::memcpy(f->buf + f->buf_len, p, static_cast<std::size_t>(n));
  f->buf_len += n;
  return true;
}

// A frame header's second word is the database size in pages after a
// commit, 0 in every other frame.
bool IsCommitHeader(const void* p, int n) {
  if (n != kFrameHeaderBytes) return false;
  const unsigned char* b = static_cast<const unsigned char*>(p);
  return (b[4] | b[5] | b[6] | b[7]) != 0;
}

int Write(sqlite3_file* file, const void* p, int n, sqlite3_int64 off) {
  File* f = F(file);
  if (!f->wal) return R(file)->pMethods->xWrite(R(file), p, n, off);
  g_writes_in++;
  const bool page_of_commit = f->commit_header;  // this write ends a commit
  f->commit_header = false;
  if (f->buf_len > 0 && (off != f->buf_offset + f->buf_len || f->buf_len + n > kMaxGathered))
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
  if (f->buf_len == 0) f->buf_offset = off;
  if (n > kMaxGathered || !Gather(f, p, n)) {
    if (int rc = Flush(f); rc != SQLITE_OK) return rc;
    g_writes_out++;
    return R(file)->pMethods->xWrite(R(file), p, n, off);
  }
  if (page_of_commit) return Flush(f);
  f->commit_header = IsCommitHeader(p, n);
  return SQLITE_OK;
}

int Close(sqlite3_file* file) {
  File* f = F(file);
  if (f->wal) Flush(f);  // frames of a transaction that never committed
  std::free(f->buf);
  f->buf = nullptr;
  return R(file)->pMethods->xClose(R(file));
}

// Every other call on a WAL file first writes what is gathered.
int Flushed(sqlite3_file* file) { return F(file)->wal && F(file)->buf_len > 0 ? Flush(F(file)) : SQLITE_OK; }

int Read(sqlite3_file* file, void* p, int n, sqlite3_int64 off) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xRead(R(file), p, n, off);
}
int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xTruncate(R(file), size);
}
int Sync(sqlite3_file* file, int flags) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xSync(R(file), flags);
}
int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xFileSize(R(file), size);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xFileControl(R(file), op, arg);
}
int Fetch(sqlite3_file* file, sqlite3_int64 off, int n, void** p) {
  if (int rc = Flushed(file); rc != SQLITE_OK) return rc;
  return R(file)->pMethods->xFetch(R(file), off, n, p);
}

const sqlite3_io_methods kMethods = [] {
  sqlite3_io_methods m = vfs_shim::Forwarding();
  m.xClose = Close;
  m.xRead = Read;
  m.xWrite = Write;
  m.xTruncate = Truncate;
  m.xSync = Sync;
  m.xFileSize = FileSize;
  m.xFileControl = FileControl;
  m.xFetch = Fetch;
  return m;
}();

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  File* file = F(f);
  std::memset(file, 0, sizeof(File));
  file->wal = (flags & SQLITE_OPEN_WAL) != 0;
  const int rc = vfs_shim::OpenReal(vfs, name, f, sizeof(File), &kMethods, flags, out_flags);
  // Without power-safe overwrite SQLite pads a commit to a sector boundary
  // and may split a write there around a sync: not the shape gathered here.
  if (file->wal && f->pMethods != nullptr &&
      (R(f)->pMethods->xDeviceCharacteristics(R(f)) & SQLITE_IOCAP_POWERSAFE_OVERWRITE) == 0)
    file->wal = false;
  return rc;
}

struct Registered {
  std::string name;
  sqlite3_vfs vfs{};
};

}  // namespace

const char* Register(const char* base_vfs) {
  static std::mutex mu;
  static auto* registered = new std::map<std::string, std::unique_ptr<Registered>>;  // never freed: SQLite keeps them
  std::lock_guard<std::mutex> lock(mu);
  const std::string key = base_vfs == nullptr ? std::string() : std::string(base_vfs);
  if (auto it = registered->find(key); it != registered->end()) return it->second->name.c_str();
  sqlite3_initialize();
  sqlite3_vfs* base = sqlite3_vfs_find(base_vfs);
  if (base == nullptr || base->iVersion < 2) return nullptr;
  auto r = std::make_unique<Registered>();
  r->name = key.empty() ? std::string("sluice-walbatch") : "sluice-walbatch+" + key;
  r->vfs = vfs_shim::Over(base, r->name.c_str(), sizeof(File), Open);
  if (sqlite3_vfs_register(&r->vfs, /*makeDflt=*/0) != SQLITE_OK) return nullptr;
  const char* name = r->name.c_str();
  registered->emplace(key, std::move(r));
  return name;
}

Counts Totals() { return Counts{g_writes_in.load(), g_writes_out.load()}; }

}  // namespace sluice::walbatch
