// Tokens, table references and model headers.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/models/model_file.h"
#include "pipeline/models/model_sql.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/models/table_references.h"

namespace sluice::models {
namespace {

std::vector<std::string> Reads(const std::string& sql) {
  auto tokens = Tokenize(sql);
  EXPECT_TRUE(tokens.ok()) << tokens.status().ToString();
  if (!tokens.ok()) return {};
  std::vector<std::string> names;
  for (const TableReference& r : FindTableReferences(*tokens, 0, tokens->size()).tables) names.push_back(r.name);
  return names;
}

using Names = std::vector<std::string>;

TEST(SqlTokens, StringsQuotedNamesCommentsMacrosAndLines) {
  auto t = Tokenize("SELECT 'it''s', \"a \"\"b\"\"\", [c d] -- x FROM y\n/* FROM z\n */ FROM @start_ds := 1.5e3");
  ASSERT_TRUE(t.ok());
  ASSERT_EQ(t->size(), 10u);
  EXPECT_EQ((*t)[1].type, TokenType::kString);
  EXPECT_EQ((*t)[1].text, "it's");
  EXPECT_EQ((*t)[3].type, TokenType::kQuotedIdentifier);
  EXPECT_EQ((*t)[3].text, "a \"b\"");
  EXPECT_EQ((*t)[5].text, "c d");
  EXPECT_TRUE((*t)[6].IsKeyword("from"));
  EXPECT_EQ((*t)[6].line, 3);
  EXPECT_EQ((*t)[7].type, TokenType::kMacro);
  EXPECT_EQ((*t)[7].text, "start_ds");
  EXPECT_TRUE((*t)[8].IsPunct(":="));
  EXPECT_EQ((*t)[9].type, TokenType::kNumber);
  EXPECT_EQ((*t)[9].text, "1.5e3");
}

TEST(SqlTokens, UnterminatedStringNamesTheLine) {
  auto t = Tokenize("SELECT 1\nFROM x WHERE a = 'oops\n", "staging/s.sql");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "staging/s.sql:2: unterminated string literal");
  EXPECT_FALSE(Tokenize("SELECT /* never closed").ok());
}

TEST(TableReferences, FromJoinAndCommaLists) {
  EXPECT_EQ(Reads("SELECT * FROM a"), (Names{"a"}));
  EXPECT_EQ(Reads("SELECT * FROM a AS x JOIN b y ON x.k = y.k LEFT OUTER JOIN main.c USING (k)"),
            (Names{"a", "b", "c"}));
  EXPECT_EQ(Reads("SELECT * FROM a x, b AS y, c WHERE 1"), (Names{"a", "b", "c"}));
  EXPECT_EQ(Reads("SELECT * FROM A a CROSS JOIN B"), (Names{"a", "b"}));  // names are lowercased
}

TEST(TableReferences, CtesAreNotTables) {
  EXPECT_EQ(Reads("WITH m AS (SELECT * FROM raw_x), n (k) AS MATERIALIZED (SELECT k FROM m) "
                  "SELECT * FROM n JOIN m USING (k) JOIN raw_y ON 1"),
            (Names{"raw_x", "raw_y"}));
  EXPECT_EQ(Reads("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) SELECT * FROM r"),
            Names{});
}

TEST(TableReferences, QuotedNamesStringsAndCommentsWithFrom) {
  EXPECT_EQ(Reads("SELECT \"from\", [join], 'FROM fake' AS s /* FROM fake2 */ FROM \"Staging_A\" -- JOIN fake3\n"),
            (Names{"staging_a"}));
  EXPECT_EQ(Reads("SELECT a IS NOT DISTINCT FROM b FROM t"), (Names{"t"}));
}

TEST(TableReferences, SubqueriesAndTableFunctions) {
  EXPECT_EQ(Reads("SELECT * FROM (SELECT * FROM a) s, (SELECT k FROM b JOIN c ON 1) t "
                  "WHERE k IN (SELECT k FROM d) AND EXISTS (SELECT 1 FROM e)"),
            (Names{"a", "b", "c", "d", "e"}));
  EXPECT_EQ(Reads("SELECT j.value FROM a, json_each(a.doc) AS j"), (Names{"a"}));
}

const char* kGoodModel = R"sql(-- prices, one row per commodity and day
MODEL (
  name foundation_fct_prices,
  kind INCREMENTAL_BY_TIME_RANGE (time_column price_date),   -- or FULL, or VIEW
  grain (commodity_code, price_date),
  start '2020-01-01',
  /* audits: */
  audits (
    not_null(columns := (commodity_code, price_date)),
    unique_grain,
    accepted_values(column := unit, is_in := ('USD/lb', 'USc/lb', 3, -1.5))
  )
);
SELECT commodity_code, price_date, unit FROM staging_prices
WHERE price_date BETWEEN @start_ds AND @end_ds;
-- trailing comment
)sql";

TEST(ModelHeader, ParsesEverything) {
  auto m = ParseModelFile(kGoodModel, "foundation/foundation_fct_prices.sql");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->name, "foundation_fct_prices");
  EXPECT_EQ(m->layer, Layer::kFoundation);
  EXPECT_EQ(m->kind, ModelKind::kIncrementalByTimeRange);
  EXPECT_EQ(m->time_column, "price_date");
  EXPECT_EQ(m->grain, (Names{"commodity_code", "price_date"}));
  EXPECT_EQ(m->start, "2020-01-01");
  ASSERT_EQ(m->audits.size(), 3u);
  EXPECT_EQ(m->audits[0].type, Audit::Type::kNotNull);
  EXPECT_EQ(m->audits[0].columns, (Names{"commodity_code", "price_date"}));
  EXPECT_EQ(m->audits[1].type, Audit::Type::kUniqueGrain);
  EXPECT_EQ(m->audits[2].type, Audit::Type::kAcceptedValues);
  EXPECT_EQ(m->audits[2].columns, Names{"unit"});
  ASSERT_EQ(m->audits[2].values.size(), 4u);
  EXPECT_EQ(m->audits[2].values[1].text, "USc/lb");
  EXPECT_EQ(m->audits[2].values[2].type, Literal::Type::kInteger);
  EXPECT_EQ(m->audits[2].values[3].type, Literal::Type::kReal);
  EXPECT_EQ(m->audits[2].values[3].text, "-1.5");
  EXPECT_EQ(m->select_line, 14);
  EXPECT_EQ(m->select_sql.substr(0, 6), "SELECT");
  EXPECT_EQ(m->select_sql.back(), 's');  // ends at @end_ds, without ';' or the trailing comment
  ASSERT_EQ(m->reads.size(), 1u);
  EXPECT_EQ(m->reads[0].name, "staging_prices");
  EXPECT_EQ(m->reads[0].line, 14);

  auto sql = RenderSelect(*m, "2024-01-01", "2024-01-31");
  ASSERT_TRUE(sql.ok());
  EXPECT_NE(sql->find("BETWEEN '2024-01-01' AND '2024-01-31'"), std::string::npos) << *sql;
  EXPECT_FALSE(RenderSelect(*m, "2024-01-01'; DROP TABLE x; --", "2024-01-31").ok());
}

TEST(ModelHeader, FullAndViewKinds) {
  auto full = ParseModelFile("MODEL (name staging_a, kind FULL); SELECT 1 AS x", "staging/staging_a.sql");
  ASSERT_TRUE(full.ok()) << full.status().message();
  EXPECT_EQ(full->kind, ModelKind::kFull);
  auto view = ParseModelFile("model (NAME serving_v, KIND view)\nwith c as (select 1 as x) select * from c",
                             "serving/serving_v.sql");
  ASSERT_TRUE(view.ok()) << view.status().message();
  EXPECT_EQ(view->kind, ModelKind::kView);
  EXPECT_TRUE(view->reads.empty());
}

// The single problem reported for `text` at staging/staging_a.sql.
std::string Problem(const std::string& text, const std::string& path = "staging/staging_a.sql") {
  auto m = ParseModelFile(text, path);
  EXPECT_FALSE(m.ok()) << text;
  return m.ok() ? "" : m.status().message();
}

TEST(ModelHeader, ErrorsNameTheFileTheLineAndWhat) {
  EXPECT_EQ(Problem("MODEL (\n  name staging_a,\n  kind FOOL\n);\nSELECT 1"),
            "staging/staging_a.sql:3: unknown kind 'FOOL' (expected FULL, VIEW, "
            "INCREMENTAL_BY_TIME_RANGE, INCREMENTAL_BY_UNIQUE_KEY or SEED)");
  EXPECT_EQ(Problem("MODEL (\n  kind FULL\n);\nSELECT 1"),
            "staging/staging_a.sql:1: missing name (name <layer>_<table>)");
  EXPECT_EQ(Problem("MODEL (\n  name foundation_a,\n  kind FULL\n);\nSELECT 1"),
            "staging/staging_a.sql:2: name 'foundation_a' does not match its folder staging/ (expected staging_...)");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL,\n  audits (not_null(columns := x),\n  no_dupes))\nSELECT 1"),
            "staging/staging_a.sql:3: unknown audit 'no_dupes' (expected not_null, unique_grain, accepted_values)");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL,\n\n  audits (unique_grain));\nSELECT 1"),
            "staging/staging_a.sql:3: audit unique_grain needs a grain (grain (col, ...))");
  EXPECT_EQ(Problem("MODEL (name staging_a,\n kind INCREMENTAL_BY_TIME_RANGE);\nSELECT 1"),
            "staging/staging_a.sql:2: INCREMENTAL_BY_TIME_RANGE needs (time_column <column>)");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL);\n-- nothing here\n"),
            "staging/staging_a.sql:1: missing SELECT after the header");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL);\nDELETE FROM raw_x"),
            "staging/staging_a.sql:2: expected a SELECT (or WITH ... SELECT) after the header, found 'DELETE'");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL);\nSELECT 1;\nSELECT 2"),
            "staging/staging_a.sql:3: only one SELECT per model file: more SQL after ';'");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL, colour 'red');\nSELECT 1"),
            "staging/staging_a.sql:1: unknown property 'colour' (expected name, kind, grain, start, lookback, "
            "description, audits)");
  EXPECT_EQ(Problem("MODEL (name staging_A, kind FULL);\nSELECT 1"),
            "staging/staging_a.sql:1: invalid model name 'staging_A' (expected [a-z][a-z0-9_]*)");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL, start '2024-02-30');\nSELECT 1"),
            "staging/staging_a.sql:1: start '2024-02-30' is not a date 'YYYY-MM-DD'");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL);\nSELECT @today"),
            "staging/staging_a.sql:2: unknown macro @today (expected @start_ds or @end_ds)");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL\n\nSELECT 1"),
            "staging/staging_a.sql:3: expected , or ) after property 'kind'");
  EXPECT_EQ(Problem("SELECT 1"), "staging/staging_a.sql:1: expected the header MODEL ( name ..., kind ... ); first");
  EXPECT_EQ(Problem("MODEL (name staging_a, kind FULL);\nSELECT 1", "misc/staging_a.sql"),
            "misc/staging_a.sql:1: not in a layer folder (staging/, foundation/ or serving/)");
}

TEST(ModelHeader, SeveralProblemsInOneHeaderAreAllReported) {
  const std::string msg = Problem("MODEL (\n  name foundation_a,\n  audits (unique_grain)\n);\nSELECT 1");
  EXPECT_NE(msg.find("staging/staging_a.sql:1: missing kind"), std::string::npos) << msg;
  EXPECT_NE(msg.find("staging/staging_a.sql:3: audit unique_grain needs a grain"), std::string::npos) << msg;
  EXPECT_NE(msg.find("staging/staging_a.sql:2: name 'foundation_a' does not match"), std::string::npos) << msg;
}

}  // namespace
}  // namespace sluice::models
