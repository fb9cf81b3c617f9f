#include "tests/lakehouse/lake_fixture.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

namespace sluice::lakehouse::testing {

namespace fs = std::filesystem;

TempDir::TempDir() {
  std::string tmpl = (fs::temp_directory_path() / "sluice-lake-XXXXXX").string();
  char* p = mkdtemp(tmpl.data());
  if (p == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = p;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

std::string Gzip(std::string_view data) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("deflateInit2");
  std::string out(deflateBound(&zs, static_cast<uLong>(data.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw std::runtime_error("deflate");
  out.resize(zs.total_out);
  return out;
}

void WriteFile(const std::string& path, std::string_view data) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!f) throw std::runtime_error("cannot write " + path);
}

void WriteGzip(const std::string& path, std::string_view data) { WriteFile(path, Gzip(data)); }

Rows Query(sluice::Database& db, const std::string& sql) {
  Rows rows;
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().ToString();
  if (!st.ok()) return rows;
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    std::vector<Cell> row;
    for (int i = 0; i < st->columns(); ++i) {
      Cell c;
      c.type = st->Type(i);
      if (c.type != SQLITE_NULL) c.text = std::string(st->Text(i));
      row.push_back(std::move(c));
    }
    rows.push_back(std::move(row));
  }
  EXPECT_EQ(rc, SQLITE_DONE) << st->error();
  return rows;
}

std::string Scalar(sluice::Database& db, const std::string& sql) {
  Rows r = Query(db, sql);
  if (r.empty() || r[0].empty()) return "<no row>";
  return r[0][0].text.value_or("NULL");
}

}  // namespace sluice::lakehouse::testing
