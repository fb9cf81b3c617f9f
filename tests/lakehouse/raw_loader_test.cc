#include "pipeline/lakehouse/raw_loader.h"

#include <gtest/gtest.h>
#include <sys/time.h>

#include <atomic>

#include "pipeline/lakehouse/ingest_date.h"
#include "pipeline/lakehouse/lakehouse_db.h"
#include "tests/lakehouse/lake_fixture.h"

namespace sluice::lakehouse {
namespace {

using testing::Cell;
using testing::Query;
using testing::Rows;
using testing::Scalar;

class LoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    landing_ = dir_.path() + "/landing";
    Status s = OpenLakehouse(db_, dir_.path() + "/lake/lakehouse.sqlite");
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Land(const std::string& rel, const std::string& data) { testing::WriteGzip(landing_ + "/" + rel, data); }
  static RawSource Src(std::string table, std::string glob, RawFormat f = RawFormat::kCsv, std::string records = "") {
    RawSource s;
    s.table = std::move(table);
    s.glob = std::move(glob);
    s.format = f;
    s.records = std::move(records);
    return s;
  }
  Result<LoadReport> Load(const std::vector<RawSource>& sources, const std::function<bool()>& cancelled = {}) {
    return LoadRaw(db_, sources, landing_, cancelled);
  }
  std::string Count(const std::string& table) { return Scalar(db_, "SELECT count(*) FROM " + table); }

  testing::TempDir dir_;
  std::string landing_;
  sluice::Database db_;
};

std::optional<std::string> T(const char* s) { return std::string(s); }
std::vector<std::optional<std::string>> Texts(const Rows& rows, std::size_t col) {
  std::vector<std::optional<std::string>> out;
  for (const auto& r : rows) out.push_back(r[col].text);
  return out;
}

TEST_F(LoadTest, OpenLakehouseUsesWal) {
  EXPECT_EQ(Scalar(db_, "PRAGMA journal_mode"), "wal");
  EXPECT_EQ(Scalar(db_, "PRAGMA synchronous"), "1");  // NORMAL
}

TEST_F(LoadTest, CsvEdgeCasesByValue) {
  Land("usda/2024/03/a.csv.gz",
       "\xEF\xBB\xBFid,name,note\r\n"
       "1,\"Smith, John\",\"said \"\"hi\"\"\"\r\n"
       "2,\"two\r\nlines\",\r\n"
       "3,,\"\"\r\n"
       "4,\"\",plain\r\n");
  auto r = Load({Src("raw_usda", "usda/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(r->rows_loaded, 4);
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].path, "usda/2024/03/a.csv.gz");
  EXPECT_EQ(r->files[0].table, "raw_usda");
  EXPECT_EQ(r->files[0].rows, 4);

  Rows rows = Query(db_, "SELECT id, name, note, typeof(id), _source_file, _ingest_date FROM raw_usda ORDER BY id");
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(Texts(rows, 1), (std::vector<std::optional<std::string>>{T("Smith, John"), T("two\r\nlines"), std::nullopt, T("")}));
  EXPECT_EQ(Texts(rows, 2), (std::vector<std::optional<std::string>>{T("said \"hi\""), std::nullopt, T(""), T("plain")}));
  EXPECT_EQ(rows[0][3].text, T("text"));  // CSV columns are TEXT
  EXPECT_EQ(rows[0][4].text, T("usda/2024/03/a.csv.gz"));
  EXPECT_EQ(rows[0][5].text, T("2024-03-01"));
  // The BOM is not part of the first column's name.
  EXPECT_EQ(Scalar(db_, "SELECT name FROM pragma_table_info('raw_usda') WHERE cid = 0"), "id");
  EXPECT_EQ(Scalar(db_, "SELECT raw_table || ' ' || rows || ' ' || length(loaded_at) FROM _sluice_loaded_files"),
            "raw_usda 4 19");
}

TEST_F(LoadTest, RaggedRowFailsNamingFileAndLineAndKeepsEarlierFiles) {
  Land("usda/2024/03/a.csv.gz", "x,y\n1,2\n");
  Land("usda/2024/03/b.csv.gz", "x,y\n3,4\n5\n6,7\n");
  auto r = Load({Src("raw_usda", "usda/*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "usda/2024/03/b.csv.gz: line 3: the record has 1 field, the header has 2");
  EXPECT_EQ(Count("raw_usda"), "1");
  EXPECT_EQ(Scalar(db_, "SELECT group_concat(path) FROM _sluice_loaded_files"), "usda/2024/03/a.csv.gz");
}

TEST_F(LoadTest, TruncatedGzipLoadsNothingOfThatFile) {
  Land("usda/2024/03/a.csv.gz", "x,y\n1,2\n");
  ASSERT_TRUE(Load({Src("raw_usda", "usda/*")}).ok());

  std::string big = "x,y\n";
  for (int i = 0; i < 200000; ++i) big += std::to_string(i) + ",v" + std::to_string(i * 31) + "\n";
  std::string gz = testing::Gzip(big);
  testing::WriteFile(landing_ + "/usda/2024/04/b.csv.gz", gz.substr(0, gz.size() * 3 / 4));
  auto r = Load({Src("raw_usda", "usda/*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  const std::string& m = r.status().message();
  EXPECT_EQ(m.substr(0, 28), "usda/2024/04/b.csv.gz: line ") << m;
  EXPECT_NE(m.substr(0, 30), "usda/2024/04/b.csv.gz: line 1:") << m;  // the line the data reached
  EXPECT_NE(m.find("truncated gzip"), std::string::npos) << m;
  EXPECT_EQ(Count("raw_usda"), "1");
  EXPECT_EQ(Count("_sluice_loaded_files"), "1");

  // A first file that fails creates no table at all.
  testing::WriteFile(landing_ + "/other/2024/04/c.csv.gz", gz.substr(0, 100));
  r = Load({Src("raw_other", "other/*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(Scalar(db_, "SELECT count(*) FROM sqlite_master WHERE name = 'raw_other'"), "0");
}

TEST_F(LoadTest, RerunAddsNothingAndNewFilesAloneAreLoaded) {
  Land("usda/2024/03/a.csv.gz", "x\n1\n2\n");
  Land("usda/2024/04/b.csv.gz", "x\n3\n");
  std::vector<RawSource> src{Src("raw_usda", "usda/*.csv.gz")};
  auto r = Load(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 2);
  EXPECT_EQ(r->rows_loaded, 3);

  r = Load(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 0);
  EXPECT_EQ(r->files_skipped, 2);
  EXPECT_EQ(r->rows_loaded, 0);
  EXPECT_EQ(Count("raw_usda"), "3");

  Land("usda/2024/05/c.csv.gz", "x\n4\n5\n");
  r = Load(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(r->files_skipped, 2);
  ASSERT_EQ(r->files.size(), 1u);
  EXPECT_EQ(r->files[0].path, "usda/2024/05/c.csv.gz");
  EXPECT_EQ(r->files[0].rows, 2);
  EXPECT_EQ(Scalar(db_, "SELECT group_concat(x, ',') FROM (SELECT x FROM raw_usda ORDER BY x)"), "1,2,3,4,5");
}

// `_load_id` orders the versions of a row: it grows with every file loaded,
// across calls and tables, whatever the files' names; a file's rows share
// its ledger row's load_id.
TEST_F(LoadTest, LoadIdGrowsWithEveryFileLoadedAndMatchesTheLedger) {
  std::vector<RawSource> src{Src("raw_p", "p/*.csv.gz"), Src("raw_j", "j/*.json.gz", RawFormat::kJson)};
  Land("p/2024/03/b.csv.gz", "x\n1\n2\n");
  Land("p/2024/03/c.csv.gz", "x\n3\n");
  Land("j/2024/03/z.json.gz", "[{\"x\": 4}]");
  ASSERT_TRUE(Load(src).ok());
  // Loaded later, named to sort first, same ingest date.
  Land("p/2024/03/a.csv.gz", "x\n5\n");
  Land("j/2024/03/a.json.gz", "[{\"x\": 6}, {\"x\": 7}]");
  auto r = Load(src);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->files_loaded, 2);

  auto load_ids = [&](const std::string& table) {
    return Scalar(db_, "SELECT group_concat(x || ':' || typeof(_load_id), ',') FROM (SELECT x, _load_id FROM " +
                           table + " ORDER BY _load_id, x)");
  };
  EXPECT_EQ(load_ids("raw_p"), "1:integer,2:integer,3:integer,5:integer");
  EXPECT_EQ(load_ids("raw_j"), "4:integer,6:integer,7:integer");
  // Each row carries its own file's ledger load_id...
  for (const char* t : {"raw_p", "raw_j"})
    EXPECT_EQ(Scalar(db_, std::string("SELECT count(*) FROM ") + t +
                              " AS r JOIN _sluice_loaded_files AS l ON l.path = r._source_file"
                              " WHERE l.load_id IS NOT r._load_id"),
              "0")
        << t;
  // ...one per file, in the order the files were loaded.
  EXPECT_EQ(Scalar(db_, "SELECT count(DISTINCT load_id) FROM _sluice_loaded_files"), "5");
  Rows order = Query(db_, "SELECT path FROM _sluice_loaded_files ORDER BY load_id");
  ASSERT_EQ(order.size(), 5u);
  EXPECT_EQ(order[3][0].text, T("p/2024/03/a.csv.gz"));
  EXPECT_EQ(order[4][0].text, T("j/2024/03/a.json.gz"));
}

TEST_F(LoadTest, GlobCrossesFoldersAndSkipsDotFiles) {
  Land("src/2024/03/a.csv.gz", "x\n1\n");
  Land("src/2024/03/.sluice-tmp-ab12.csv.gz", "x\n2\n");
  Land("src/2024/03/b.json.gz", "[]");
  auto r = Load({Src("raw_src", "src/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(Count("raw_src"), "1");
  // A glob whose folder does not exist matches nothing.
  r = Load({Src("raw_none", "none/*.csv.gz")});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->files_loaded, 0);
}

TEST_F(LoadTest, SchemaEvolutionAddsColumns) {
  Land("s/2024/01/a.csv.gz", "a,b\n1,2\n");
  Land("s/2024/02/b.csv.gz", "c,A\n3,4\n");
  auto r = Load({Src("raw_s", "s/*")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar(db_, "SELECT group_concat(name, ',') FROM pragma_table_info('raw_s')"),
            "a,b,_source_file,_ingest_date,_load_id,c");
  Rows rows = Query(db_, "SELECT a, b, c FROM raw_s ORDER BY _source_file");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].text, T("1"));
  EXPECT_EQ(rows[0][1].text, T("2"));
  EXPECT_EQ(rows[0][2].text, std::nullopt);
  EXPECT_EQ(rows[1][0].text, T("4"));  // "A" is column a
  EXPECT_EQ(rows[1][1].text, std::nullopt);
  EXPECT_EQ(rows[1][2].text, T("3"));
}

TEST_F(LoadTest, BadHeadersAreRejectedWithLineOne) {
  Land("h/2024/01/dup.csv.gz", "a,b,A\n1,2,3\n");
  auto r = Load({Src("raw_h", "h/*/dup*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "h/2024/01/dup.csv.gz: line 1: column 3: duplicate column name 'A' (names are compared without ASCII case)");
  Land("h/2024/01/empty.csv.gz", "a,,c\n1,2,3\n");
  r = Load({Src("raw_h", "h/*/empty*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "h/2024/01/empty.csv.gz: line 1: column 2: empty column name");
  Land("h/2024/01/res.csv.gz", "a,_Ingest_Date\n1,2\n");
  r = Load({Src("raw_h", "h/*/res*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "h/2024/01/res.csv.gz: line 1: column 2: column name '_Ingest_Date' is reserved for the loader");
  Land("h/2024/01/lid.csv.gz", "_LOAD_ID,a\n1,2\n");
  r = Load({Src("raw_h", "h/*/lid*")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "h/2024/01/lid.csv.gz: line 1: column 1: column name '_LOAD_ID' is reserved for the loader");
  EXPECT_EQ(Count("_sluice_loaded_files"), "0");
}

TEST_F(LoadTest, OddColumnNamesWorkQuoted) {
  Land("o/2024/01/a.csv.gz", "\"we\"\"ird\",select,\"a b\"\n1,2,3\n");
  auto r = Load({Src("raw_o", "o/*")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar(db_, "SELECT \"we\"\"ird\" || \"select\" || \"a b\" FROM raw_o"), "123");
}

TEST_F(LoadTest, EmptyCsvLoadsNoRowsAndIsRecorded) {
  Land("e/2024/01/a.csv.gz", "");
  auto r = Load({Src("raw_e", "e/*")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->files_loaded, 1);
  EXPECT_EQ(r->rows_loaded, 0);
  EXPECT_EQ(Count("_sluice_loaded_files"), "1");
}

TEST_F(LoadTest, JsonArrayKeepsTypes) {
  Land("j/2024/03/a.json.gz",
       R"([{"i": 42, "r": 1.5, "s": "text", "b": true, "n": null, "o": {"x": 1}, "a": [1, "two"]},
           {"i": -7, "b": false, "big": 18446744073709551615, "extra": "only here"}])");
  auto r = Load({Src("raw_j", "j/*.json.gz", RawFormat::kJson)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows_loaded, 2);
  Rows rows = Query(db_,
                    "SELECT typeof(i), i, typeof(r), r, typeof(s), s, typeof(b), b, typeof(n), typeof(o), o, "
                    "a, extra, typeof(big) FROM raw_j ORDER BY _rowid_");
  ASSERT_EQ(rows.size(), 2u);
  const auto& a = rows[0];
  EXPECT_EQ(a[0].text, T("integer"));
  EXPECT_EQ(a[1].text, T("42"));
  EXPECT_EQ(a[2].text, T("real"));
  EXPECT_EQ(a[3].text, T("1.5"));
  EXPECT_EQ(a[4].text, T("text"));
  EXPECT_EQ(a[5].text, T("text"));
  EXPECT_EQ(a[6].text, T("integer"));
  EXPECT_EQ(a[7].text, T("1"));
  EXPECT_EQ(a[8].text, T("null"));
  EXPECT_EQ(a[9].text, T("text"));
  EXPECT_EQ(a[10].text, T("{\"x\":1}"));
  EXPECT_EQ(a[11].text, T("[1,\"two\"]"));
  EXPECT_EQ(a[12].text, std::nullopt);
  const auto& b = rows[1];
  EXPECT_EQ(b[1].text, T("-7"));
  EXPECT_EQ(b[2].text, T("null"));
  EXPECT_EQ(b[7].text, T("0"));
  EXPECT_EQ(b[12].text, T("only here"));
  EXPECT_EQ(b[13].text, T("real"));
  EXPECT_EQ(Scalar(db_, "SELECT group_concat(name, ',') FROM pragma_table_info('raw_j')"),
            "i,r,s,b,n,o,a,big,extra,_source_file,_ingest_date,_load_id");
}

TEST_F(LoadTest, JsonRecordsPath) {
  Land("w/2024/03/15/a.json.gz", R"({"meta": {"v": 1}, "data": {"daily": [{"t": "2024-03-15", "temp": 11.5}]}})");
  auto r = Load({Src("raw_w", "w/*", RawFormat::kJson, "data.daily")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar(db_, "SELECT t || ' ' || temp || ' ' || typeof(temp) || ' ' || _ingest_date FROM raw_w"),
            "2024-03-15 11.5 real 2024-03-15");

  Land("w/2024/03/16/b.json.gz", R"({"data": {"hourly": []}})");
  r = Load({Src("raw_w", "w/*", RawFormat::kJson, "data.daily")});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "w/2024/03/16/b.json.gz: records path 'data.daily': no key 'daily' in 'data'");
}

TEST_F(LoadTest, NdjsonKeepsTypesAndReportsLines) {
  Land("n/2024/03/a.ndjson.gz", "{\"id\": 1, \"v\": 2.25, \"tags\": [\"a\"]}\n\n{\"id\": 2, \"v\": \"x\", \"ok\": true}\n");
  auto r = Load({Src("raw_n", "n/*", RawFormat::kNdjson)});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  Rows rows = Query(db_, "SELECT typeof(id), typeof(v), v, tags, ok FROM raw_n ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0].text, T("integer"));
  EXPECT_EQ(rows[0][1].text, T("real"));
  EXPECT_EQ(rows[0][3].text, T("[\"a\"]"));
  EXPECT_EQ(rows[0][4].text, std::nullopt);
  EXPECT_EQ(rows[1][1].text, T("text"));
  EXPECT_EQ(rows[1][4].text, T("1"));

  Land("n/2024/04/b.ndjson.gz", "{\"id\": 3}\n{\"id\": 4,}\n");
  r = Load({Src("raw_n", "n/*", RawFormat::kNdjson)});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "n/2024/04/b.ndjson.gz: line 2, column 10: invalid JSON: syntax error while parsing object key - "
            "unexpected '}'; expected string literal");
  EXPECT_EQ(Count("raw_n"), "2");
}

TEST_F(LoadTest, IngestDateFromPartitionOrMtime) {
  Land("p/2024/02/m.csv.gz", "x\n1\n");
  Land("p/2024/02/29/d.csv.gz", "x\n2\n");
  Land("p/flat.csv.gz", "x\n3\n");
  struct timeval tv[2] = {{1700000000, 0}, {1700000000, 0}};  // 2023-11-14T22:13:20Z
  ASSERT_EQ(utimes((landing_ + "/p/flat.csv.gz").c_str(), tv), 0);
  auto r = Load({Src("raw_p", "p/*.csv.gz")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Scalar(db_, "SELECT group_concat(x || '=' || _ingest_date, ' ') FROM (SELECT * FROM raw_p ORDER BY x)"),
            "1=2024-02-01 2=2024-02-29 3=2023-11-14");
}

TEST(PartitionDate, Rules) {
  EXPECT_EQ(PartitionDate("usda/2024/03/a.csv.gz"), "2024-03-01");
  EXPECT_EQ(PartitionDate("usda/2024/03/15/a.csv.gz"), "2024-03-15");
  EXPECT_EQ(PartitionDate("usda/2023/02/29/a.csv.gz"), "2023-02-01");  // not a day: month partition
  EXPECT_EQ(PartitionDate("usda/2024/13/a.csv.gz"), std::nullopt);
  EXPECT_EQ(PartitionDate("usda/2024/03"), std::nullopt);
  EXPECT_EQ(PartitionDate("a.csv.gz"), std::nullopt);
  EXPECT_EQ(PartitionDate("usda/24/03/a.csv.gz"), std::nullopt);
}

TEST_F(LoadTest, CancelRollsBackTheFileInProgress) {
  Land("c/2024/01/a.csv.gz", "x\n1\n");
  std::string big = "x\n";
  for (int i = 0; i < 100000; ++i) big += std::to_string(i) + "\n";
  Land("c/2024/02/b.csv.gz", big);
  std::atomic<int> calls{0};
  // Between-file checks: before a (1), before b (2); then inside b at 65,536 rows (3).
  auto r = Load({Src("raw_c", "c/*")}, [&] { return ++calls >= 3; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "cancelled while loading c/2024/02/b.csv.gz (rolled back after 65536 rows); 1 file loaded before it stay loaded");
  EXPECT_EQ(Count("raw_c"), "1");
  EXPECT_EQ(Count("_sluice_loaded_files"), "1");

  r = Load({Src("raw_c", "c/*")}, [] { return true; });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().substr(0, 9), "cancelled");
  r = Load({Src("raw_c", "c/*")});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Count("raw_c"), "100001");
}

}  // namespace
}  // namespace sluice::lakehouse
