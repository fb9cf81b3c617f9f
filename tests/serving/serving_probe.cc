// sluice-serving-probe PATH ROWS TARGET_VERSION DEADLINE_S
//
// A reader process for serving_swap_test: queries the analytics database
// through ServingReader in a tight loop while exports replace it, and checks
// every read ("reading" is printed after the first): the export's version never goes backwards, the table
// `serving_t` has exactly ROWS rows, all stamped with that version (a
// half-written or mixed table would show other counts or stamps), and no
// query fails. Exits 0 once it has seen TARGET_VERSION, printing
// "reads=N versions=M opens=K"; any violation prints it and exits 1; no
// target before the deadline exits 2.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "pipeline/serving/serving_reader.h"

namespace {

bool ReadInts(sluice::Database& db, const char* sql, std::int64_t* out, int n, std::string* err) {
  auto st = db.Prepare(sql);
  if (!st.ok()) {
    *err = st.status().message();
    return false;
  }
  if (st->Step() != SQLITE_ROW) {
    *err = st->error();
    return false;
  }
  for (int i = 0; i < n; ++i) out[i] = st->Int(i);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: %s PATH ROWS TARGET_VERSION DEADLINE_S\n", argv[0]);
    return 64;
  }
  const std::string path = argv[1];
  const std::int64_t rows = std::atoll(argv[2]);
  const std::int64_t target = std::atoll(argv[3]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoll(argv[4]));

  sluice::serving::ServingReader reader(path);
  std::int64_t last = 0, reads = 0, versions = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    auto db = reader.Get();
    if (!db.ok()) {
      if (last == 0) {  // no export yet
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
        continue;
      }
      std::printf("FAIL: %s\n", db.status().message().c_str());
      return 1;
    }
    std::int64_t version = 0, t[3] = {0, 0, 0};
    std::string err;
    if (!ReadInts(**db, "SELECT version FROM _sluice_export", &version, 1, &err) ||
        !ReadInts(**db, "SELECT count(*), min(v), max(v) FROM serving_t", t, 3, &err)) {
      std::printf("FAIL: query error after version %lld: %s\n", static_cast<long long>(last),
                  err.c_str());
      return 1;
    }
    ++reads;
    if (t[0] != rows || t[1] != version || t[2] != version) {
      std::printf("FAIL: version %lld has %lld rows stamped %lld..%lld\n",
                  static_cast<long long>(version), static_cast<long long>(t[0]),
                  static_cast<long long>(t[1]), static_cast<long long>(t[2]));
      return 1;
    }
    if (version < last) {
      std::printf("FAIL: version went back from %lld to %lld\n", static_cast<long long>(last),
                  static_cast<long long>(version));
      return 1;
    }
    if (reads == 1) {
      std::printf("reading\n");
      std::fflush(stdout);
    }
    if (version > last) ++versions;
    last = version;
    if (version == target) {
      std::printf("reads=%lld versions=%lld opens=%llu\n", static_cast<long long>(reads),
                  static_cast<long long>(versions),
                  static_cast<unsigned long long>(reader.opens()));
      return 0;
    }
  }
  std::printf("TIMEOUT: last version %lld, wanted %lld\n", static_cast<long long>(last),
              static_cast<long long>(target));
  return 2;
}
