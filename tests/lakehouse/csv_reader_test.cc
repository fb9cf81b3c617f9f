#include "pipeline/lakehouse/csv_reader.h"

#include <gtest/gtest.h>

#include <optional>

namespace sluice::lakehouse {
namespace {

using Row = std::vector<std::optional<std::string>>;

struct Parsed {
  std::vector<std::string> header;
  std::vector<Row> rows;
  std::vector<std::int64_t> lines;  // record_line() of each row
  std::string error;                // "" when the whole input parsed
};

Parsed ParseCsv(const std::string& text, std::size_t chunk, std::size_t buffer) {
  Parsed out;
  StringSource src(text, chunk);
  CsvReader csv(src, buffer);
  Status s = csv.ReadHeader();
  if (!s.ok()) {
    out.error = s.message();
    return out;
  }
  out.header = csv.header();
  for (;;) {
    auto r = csv.Next();
    if (!r.ok()) {
      out.error = r.status().message();
      return out;
    }
    if (!*r) break;
    Row row;
    for (const auto& f : csv.fields())
      row.push_back(f.null ? std::nullopt : std::optional<std::string>(std::string(f.view())));
    out.rows.push_back(std::move(row));
    out.lines.push_back(csv.record_line());
  }
  return out;
}

// Parses `text` fed in many ways (byte by byte, odd chunks, all at once;
// a tiny buffer that must grow and a large one) and checks all agree.
Parsed ParseAllWays(const std::string& text) {
  Parsed first = ParseCsv(text, text.size() + 1, 1 << 20);
  for (std::size_t chunk : {1, 2, 3, 7, 64}) {
    for (std::size_t buffer : {64, 4096}) {
      Parsed p = ParseCsv(text, chunk, buffer);
      EXPECT_EQ(p.header, first.header) << "chunk " << chunk << " buffer " << buffer;
      EXPECT_EQ(p.rows, first.rows) << "chunk " << chunk << " buffer " << buffer;
      EXPECT_EQ(p.lines, first.lines) << "chunk " << chunk << " buffer " << buffer;
      EXPECT_EQ(p.error, first.error) << "chunk " << chunk << " buffer " << buffer;
    }
  }
  return first;
}

const std::optional<std::string> kNull = std::nullopt;
std::optional<std::string> V(const char* s) { return std::string(s); }

TEST(CsvReader, PlainRowsAndHeader) {
  Parsed p = ParseAllWays("a,b,c\n1,2,3\n4,5,6\n");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.header, (std::vector<std::string>{"a", "b", "c"}));
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0], (Row{V("1"), V("2"), V("3")}));
  EXPECT_EQ(p.rows[1], (Row{V("4"), V("5"), V("6")}));
  EXPECT_EQ(p.lines, (std::vector<std::int64_t>{2, 3}));
}

TEST(CsvReader, NoFinalNewline) {
  Parsed p = ParseAllWays("a,b\n1,2");
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0], (Row{V("1"), V("2")}));
}

TEST(CsvReader, QuotedCommasAndEscapedQuotes) {
  Parsed p = ParseAllWays(
      "name,note\n"
      "\"Smith, John\",\"he said \"\"hi\"\"\"\n"
      "\"\"\"\",\"a,\"\"b\"\",c\"\n"
      "plain,x\"y\n");
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 3u);
  EXPECT_EQ(p.rows[0], (Row{V("Smith, John"), V("he said \"hi\"")}));
  EXPECT_EQ(p.rows[1], (Row{V("\""), V("a,\"b\",c")}));
  EXPECT_EQ(p.rows[2], (Row{V("plain"), V("x\"y")}));  // a quote inside an unquoted field is data
}

TEST(CsvReader, EmbeddedNewlinesKeepLineNumbers) {
  Parsed p = ParseAllWays(
      "id,text\n"
      "1,\"line one\nline two\"\n"
      "2,\"crlf\r\ninside\"\n"
      "3,after\n");
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 3u);
  EXPECT_EQ(p.rows[0], (Row{V("1"), V("line one\nline two")}));
  EXPECT_EQ(p.rows[1], (Row{V("2"), V("crlf\r\ninside")}));
  EXPECT_EQ(p.rows[2], (Row{V("3"), V("after")}));
  EXPECT_EQ(p.lines, (std::vector<std::int64_t>{2, 4, 6}));
}

TEST(CsvReader, CrlfLineEnds) {
  Parsed p = ParseAllWays("a,b\r\n1,2\r\n,\r\n\"x\",\"\"\r\n");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.header, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(p.rows.size(), 3u);
  EXPECT_EQ(p.rows[0], (Row{V("1"), V("2")}));
  EXPECT_EQ(p.rows[1], (Row{kNull, kNull}));
  EXPECT_EQ(p.rows[2], (Row{V("x"), V("")}));
  EXPECT_EQ(p.lines, (std::vector<std::int64_t>{2, 3, 4}));
}

TEST(CsvReader, BomIsDropped) {
  Parsed p = ParseAllWays("\xEF\xBB\xBFid,name\n1,\xEF\xBB\xBFx\n");
  EXPECT_EQ(p.error, "");
  EXPECT_EQ(p.header, (std::vector<std::string>{"id", "name"}));
  ASSERT_EQ(p.rows.size(), 1u);
  EXPECT_EQ(p.rows[0], (Row{V("1"), V("\xEF\xBB\xBFx")}));  // only at the very start
}

TEST(CsvReader, EmptyUnquotedIsNullQuotedEmptyIsEmptyString) {
  Parsed p = ParseAllWays("a,b,c\n,\"\",\n\"\",,\"\"\n");
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0], (Row{kNull, V(""), kNull}));
  EXPECT_EQ(p.rows[1], (Row{V(""), kNull, V("")}));
}

TEST(CsvReader, BlankLinesAreSkipped) {
  Parsed p = ParseAllWays("a,b\n\n1,2\n\r\n\n3,4\n\n");
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.lines, (std::vector<std::int64_t>{3, 6}));
}

TEST(CsvReader, RaggedRowIsAnErrorWithItsLine) {
  Parsed p = ParseAllWays("a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n7,8,9\n");
  EXPECT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.error, "line 5: the record has 2 fields, the header has 3");
  p = ParseAllWays("a,b\n1,2,3\n");
  EXPECT_EQ(p.error, "line 2: the record has 3 fields, the header has 2");
}

TEST(CsvReader, UnterminatedQuoteAtEofIsAnError) {
  Parsed p = ParseAllWays("a,b\n1,2\n3,\"open\nmore\n");
  EXPECT_EQ(p.error,
            "line 3: unterminated quoted field: the quote opened on line 3 is not closed before the end of "
            "the file (line 5)");
}

TEST(CsvReader, GarbageAfterClosingQuoteIsAnError) {
  Parsed p = ParseAllWays("a,b\n1,\"x\"y\n");
  EXPECT_EQ(p.error, "line 2: unexpected 'y' after the closing quote of field 2 (on line 2)");
}

TEST(CsvReader, EmptyInputHasNoHeader) {
  Parsed p = ParseAllWays("");
  EXPECT_EQ(p.error, "");
  EXPECT_TRUE(p.header.empty());
  EXPECT_TRUE(p.rows.empty());
  p = ParseAllWays("a,b\n");
  EXPECT_EQ(p.header, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(p.rows.empty());
}

TEST(CsvReader, LongFieldsGrowTheBuffer) {
  std::string big(100000, 'x');
  Parsed p = ParseCsv("a,b\n\"" + big + "\"," + big + "\n1,2\n", 1000, 64);
  EXPECT_EQ(p.error, "");
  ASSERT_EQ(p.rows.size(), 2u);
  EXPECT_EQ(p.rows[0], (Row{big, big}));
  EXPECT_EQ(p.rows[1], (Row{V("1"), V("2")}));
}

TEST(CsvReader, RandomInputParsesAlikeInEveryChunking) {
  // Inputs made of the bytes that matter: whatever the parser decides, it
  // must decide it the same way however the bytes arrive, and never read
  // outside its buffer (the sanitizer build checks that).
  const char kAlphabet[] = {'a', 'b', ',', '"', '\n', '\r', '\xEF', '\xBB', '\xBF'};
  std::uint32_t seed = 12345;
  for (int round = 0; round < 300; ++round) {
    std::string text;
    seed = seed * 1103515245u + 12345u;
    std::size_t len = (seed >> 16) % 60;
    for (std::size_t i = 0; i < len; ++i) {
      seed = seed * 1103515245u + 12345u;
      text += kAlphabet[(seed >> 16) % sizeof kAlphabet];
    }
    ParseAllWays(text);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "input: " << ::testing::PrintToString(text);
      break;
    }
  }
}

}  // namespace
}  // namespace sluice::lakehouse
