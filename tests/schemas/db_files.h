// Files that are not sluice's, for the tests that sluice refuses them and
// leaves them exactly as they were (schemas/database_owner.h), and a
// snapshot of a file and its side files to compare before and after.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>

#include "schemas/sqlite_db.h"

namespace sluice::testing {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void WriteAll(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// The file's bytes and mtime, and whether -wal / -shm / -journal files sit
// next to it: equal snapshots mean nothing touched it.
struct FileSnapshot {
  std::string bytes;
  std::int64_t mtime_ns = 0;
  bool wal = false, shm = false, journal = false;
  bool operator==(const FileSnapshot&) const = default;
};

inline FileSnapshot Snapshot(const std::string& path) {
  FileSnapshot s;
  s.bytes = ReadAll(path);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    s.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.wal = std::filesystem::exists(path + "-wal");
  s.shm = std::filesystem::exists(path + "-shm");
  s.journal = std::filesystem::exists(path + "-journal");
  return s;
}

// Runs `sql` on a fresh database at `path` (rollback journal, as most
// applications leave their files), then closes it.
inline bool MakeDb(const std::string& path, const std::string& sql) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  Database db;
  return db.Open(path).ok() && db.Exec(sql).ok();
}

// Another application's database: its own tables, user_version 0, no id.
inline bool MakeForeignDb(const std::string& path) {
  return MakeDb(path,
                "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);"
                "INSERT INTO notes(body) VALUES ('keep me'), ('and me');"
                "CREATE TABLE tags (note INTEGER, tag TEXT);");
}

inline void WriteRandomBytes(const std::string& path, std::size_t n, unsigned seed = 7) {
  std::mt19937 rng(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
  WriteAll(path, bytes);
}

// Cuts the file to `bytes` (a database copied half-way, a full disk).
inline void Truncate(const std::string& path, std::uintmax_t bytes) {
  std::filesystem::resize_file(path, bytes);
}

// Overwrites `n` bytes at `offset` with garbage.
inline void Scribble(const std::string& path, std::size_t offset, std::size_t n) {
  std::string bytes = ReadAll(path);
  for (std::size_t i = offset; i < offset + n && i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(0xA5 ^ (i & 0xff));
  WriteAll(path, bytes);
}

}  // namespace sluice::testing
