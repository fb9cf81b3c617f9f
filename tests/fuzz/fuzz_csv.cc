// CSV fuzzer: landing-file bytes through CsvReader (csv_reader.h).
//
// Input: byte 0 picks how the bytes arrive (the size of each read, 1-16
// bytes, and the reader's starting buffer, 1-64 bytes, so records straddle
// refills and the buffer grows); the rest is the CSV. The records read that
// way must be exactly those read in one piece into a buffer larger than the
// input: header, fields, NULLs, line numbers and the error, if any. (Not
// the default 4 MiB buffer: allocating it on every input would make this
// target twenty times slower.)
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/lakehouse/byte_source.h"
#include "pipeline/lakehouse/csv_reader.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace sluice::lakehouse;

// Everything the reader said, in order, as one comparable value.
struct Transcript {
  std::vector<std::string> header;
  std::int64_t header_line = 0;
  std::vector<std::int64_t> lines;
  std::vector<std::vector<std::string>> records;  // NULL is "\x01NULL"
  std::string error;

  bool operator==(const Transcript&) const = default;
};

Transcript Read(const std::string& csv, std::size_t chunk, std::size_t buffer) {
  Transcript t;
  StringSource src(csv, chunk);
  CsvReader reader(src, buffer);
  sluice::Status s = reader.ReadHeader();
  if (!s.ok()) {
    t.error = s.message();
    return t;
  }
  t.header = reader.header();
  t.header_line = reader.header_line();
  for (int n = 0; n < 100000; ++n) {
    auto more = reader.Next();
    if (!more.ok()) {
      t.error = more.status().message();
      break;
    }
    if (!*more) break;
    FUZZ_CHECK(reader.fields().size() == t.header.size(), "record of %zu fields, header of %zu",
               reader.fields().size(), t.header.size());
    std::vector<std::string> rec;
    for (const CsvField& f : reader.fields()) {
      FUZZ_CHECK(!f.null || f.size == 0, "a NULL field with %zu bytes", f.size);
      rec.push_back(f.null ? std::string("\x01NULL") : std::string(f.view()));
    }
    t.records.push_back(std::move(rec));
    t.lines.push_back(reader.record_line());
  }
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t chunk = 1 + (data[0] & 0x0f);
  const std::size_t buffer = 1 + ((data[0] >> 4) * 4);
  const std::string csv(reinterpret_cast<const char*>(data) + 1, size - 1);
  const Transcript whole = Read(csv, static_cast<std::size_t>(-1), csv.size() + 1);
  const Transcript pieces = Read(csv, chunk, buffer);
  FUZZ_CHECK(whole == pieces, "reads of %zu bytes into a %zu-byte buffer differ from one read: "
             "records %zu vs %zu, error '%s' vs '%s'", chunk, buffer, whole.records.size(),
             pieces.records.size(), whole.error.c_str(), pieces.error.c_str());
  return 0;
}
