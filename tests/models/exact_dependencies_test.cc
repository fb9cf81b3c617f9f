// Exact dependencies: a corpus of tricky SQL, each case a small models
// folder, and the tables every model reads as SQLite resolves them.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model_probe.h"
#include "pipeline/models/model_set.h"
#include "pipeline/models/sql_tokens.h"
#include "pipeline/models/table_references.h"
#include "tests/models/models_folder.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;
using Names = std::vector<std::string>;

struct CorpusCase {
  const char* name;
  std::map<std::string, std::string> files;   // path -> text
  std::map<std::string, Names> reads;         // model -> the tables it reads, sorted
  std::set<std::string> self_reads = {};
};

std::string Full(const std::string& name, const std::string& select) {
  return "MODEL (name " + name + ", kind FULL);\n" + select + "\n";
}

std::vector<CorpusCase> Corpus() {
  return {
      {"comma_after_join_on",
       {{"staging/staging_t.sql", Full("staging_t", "SELECT a.x FROM raw_a a JOIN raw_b b ON a.k = b.k, raw_c")}},
       {{"staging_t", {"raw_a", "raw_b", "raw_c"}}}},
      {"cte_shadows_a_table_name",
       {{"staging/staging_t.sql", Full("staging_t", "WITH raw_a AS (SELECT y FROM raw_b) SELECT y FROM raw_a")}},
       {{"staging_t", {"raw_b"}}}},
      {"cte_shadows_a_model_name",
       {{"staging/staging_m.sql", Full("staging_m", "SELECT k FROM raw_a")},
        {"staging/staging_t.sql", Full("staging_t", "WITH staging_m AS (SELECT 1 AS z) SELECT z FROM staging_m")}},
       {{"staging_m", {"raw_a"}}, {"staging_t", {}}}},
      {"nested_subqueries",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "SELECT * FROM (SELECT s1.k FROM (SELECT k FROM raw_a) s1\n"
              "  JOIN (SELECT k, (SELECT max(v) FROM raw_c) AS m FROM raw_b) s2 ON s1.k = s2.k) t")}},
       {{"staging_t", {"raw_a", "raw_b", "raw_c"}}}},
      {"table_valued_function",
       {{"staging/staging_t.sql",
         Full("staging_t", "SELECT r.k, d.value FROM raw_a AS r, json_each(r.doc) AS d")}},
       {{"staging_t", {"raw_a"}}}},
      {"quoted_identifiers",
       {{"staging/staging_t.sql",
         Full("staging_t", "SELECT \"Weird Col\", [x] FROM \"raw_a\" JOIN `raw_b` AS \"b\" ON \"b\".k = \"raw_a\".k")}},
       {{"staging_t", {"raw_a", "raw_b"}}}},
      {"window_functions",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "SELECT x, row_number() OVER w AS rn, lag(x) OVER (ORDER BY y) AS prev FROM raw_a\n"
              "WINDOW w AS (PARTITION BY k ORDER BY x)")}},
       {{"staging_t", {"raw_a"}}}},
      {"union_intersect_except",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "SELECT k FROM raw_a UNION SELECT k FROM raw_b INTERSECT SELECT k FROM raw_c EXCEPT SELECT k FROM raw_d")}},
       {{"staging_t", {"raw_a", "raw_b", "raw_c", "raw_d"}}}},
      {"correlated_subqueries",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "SELECT a.k, (SELECT max(b.x) FROM raw_b b WHERE b.k = a.k) AS mx FROM raw_a a\n"
              "WHERE EXISTS (SELECT 1 FROM raw_c c WHERE c.k = a.k) AND a.k IN (SELECT k FROM raw_d)")}},
       {{"staging_t", {"raw_a", "raw_b", "raw_c", "raw_d"}}}},
      {"main_prefix",
       {{"staging/staging_t.sql", Full("staging_t", "SELECT main.raw_a.k, b.v FROM main.raw_a, main.raw_b AS b")}},
       {{"staging_t", {"raw_a", "raw_b"}}}},
      {"comments_and_strings_with_from",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "SELECT 'FROM raw_b' AS s, k /* FROM raw_c */ FROM raw_a -- JOIN raw_d\n"
              "WHERE k IS NOT DISTINCT FROM 'JOIN raw_e'")}},
       {{"staging_t", {"raw_a"}}}},
      {"count_star_reads_no_column",
       {{"staging/staging_t.sql", Full("staging_t", "SELECT count(*) AS n FROM raw_a, raw_b")}},
       {{"staging_t", {"raw_a", "raw_b"}}}},
      {"recursive_cte",
       {{"staging/staging_t.sql",
         Full("staging_t",
              "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 10)\n"
              "SELECT n.i, a.k FROM n, raw_a AS a")}},
       {{"staging_t", {"raw_a"}}}},
      {"unqualified_columns_over_two_raw_tables",
       {{"staging/staging_t.sql",
         Full("staging_t", "SELECT x, y FROM raw_a JOIN raw_b ON raw_a.k = raw_b.k WHERE z > 0")}},
       {{"staging_t", {"raw_a", "raw_b"}}}},
      {"natural_join_and_using",
       {{"staging/staging_t.sql",
         Full("staging_t", "SELECT * FROM raw_a NATURAL JOIN raw_b JOIN raw_c USING (k)")}},
       {{"staging_t", {"raw_a", "raw_b", "raw_c"}}}},
      {"view_model_is_the_dependency",
       {{"staging/staging_v.sql", "MODEL (name staging_v, kind VIEW);\nSELECT k, x FROM raw_a\n"},
        {"staging/staging_t.sql", Full("staging_t", "SELECT v.x FROM staging_v AS v")}},
       {{"staging_v", {"raw_a"}}, {"staging_t", {"staging_v"}}}},
      {"models_through_star_and_ctes",
       {{"staging/staging_a.sql", Full("staging_a", "SELECT * FROM raw_a")},
        {"foundation/foundation_b.sql",
         Full("foundation_b", "WITH s AS (SELECT * FROM staging_a) SELECT s.price, s.day FROM s")},
        {"serving/serving_c.sql", Full("serving_c", "SELECT day, sum(price) AS total FROM foundation_b GROUP BY day")}},
       {{"staging_a", {"raw_a"}}, {"foundation_b", {"staging_a"}}, {"serving_c", {"foundation_b"}}}},
      {"incremental_self_read",
       {{"staging/staging_inc.sql",
         "MODEL (name staging_inc, kind INCREMENTAL_BY_TIME_RANGE (time_column d));\n"
         "SELECT a.k, a.d, coalesce((SELECT max(i.n) FROM staging_inc AS i), 0) + 1 AS n\n"
         "FROM raw_a AS a WHERE a.d BETWEEN @start_ds AND @end_ds"},
        {"staging/staging_next.sql", Full("staging_next", "SELECT n FROM staging_inc")}},
       {{"staging_inc", {"raw_a"}}, {"staging_next", {"staging_inc"}}},
       {"staging_inc"}},
  };
}

TEST(ExactDependencies, Corpus) {
  for (const CorpusCase& c : Corpus()) {
    SCOPED_TRACE(c.name);
    ModelsFolder f;
    for (const auto& [path, text] : c.files) f.Write(path, text);
    auto set = LoadModelSet(f.dir());
    ASSERT_TRUE(set.ok()) << set.status().message();
    EXPECT_EQ(set->guessed, Names{});
    for (const auto& [model, want] : c.reads) {
      const Model* m = set->Find(model);
      ASSERT_NE(m, nullptr) << model;
      Names got;
      for (const TableReference& r : m->reads) got.push_back(r.name);
      std::sort(got.begin(), got.end());
      EXPECT_EQ(got, want) << model;
    }
    EXPECT_EQ(set->self_reads, c.self_reads);
  }
}

TEST(ExactDependencies, TheTokenGuessMissesTheCommaAfterJoinOn) {
  // The guess this replaces: tables after FROM / JOIN, which stops at ON.
  auto tokens = Tokenize("SELECT a.x FROM raw_a a JOIN raw_b b ON a.k = b.k, raw_c");
  ASSERT_TRUE(tokens.ok());
  Names guessed;
  for (const TableReference& r : FindTableReferences(*tokens, 0, tokens->size()).tables) guessed.push_back(r.name);
  EXPECT_EQ(guessed, (Names{"raw_a", "raw_b"}));
}

TEST(ExactDependencies, RunOrderFollowsTheExactReads) {
  ModelsFolder f;
  // staging_a reads staging_b only after a comma following ON: the exact
  // reads put staging_b first.
  f.Write("staging/staging_a.sql", Full("staging_a", "SELECT x.k FROM raw_x x JOIN raw_y y ON x.k = y.k, staging_b"));
  f.Write("staging/staging_b.sql", Full("staging_b", "SELECT k FROM raw_x"));
  auto set = LoadModelSet(f.dir());
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->models.size(), 2u);
  EXPECT_EQ(set->models[0].name, "staging_b");
  EXPECT_EQ(set->models[1].name, "staging_a");
}

TEST(ExactDependencies, SelfReadIsNotACycleButARealCycleIs) {
  ModelsFolder f;
  f.Write("staging/staging_self.sql",
          "MODEL (name staging_self, kind INCREMENTAL_BY_TIME_RANGE (time_column d));\n"
          "SELECT k, d FROM raw_a WHERE k NOT IN (SELECT k FROM staging_self)");
  f.Write("staging/staging_a.sql", Full("staging_a", "SELECT k FROM staging_b"));
  f.Write("staging/staging_b.sql", Full("staging_b", "SELECT k FROM staging_a"));
  auto set = LoadModelSet(f.dir());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(), "cycle: staging_a -> staging_b -> staging_a");
}

TEST(ExactDependencies, AViewCannotReadItself) {
  ModelsFolder f;
  f.Write("staging/staging_v.sql", "MODEL (name staging_v, kind VIEW);\nSELECT k\nFROM staging_v");
  auto set = LoadModelSet(f.dir());
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "staging/staging_v.sql:3: staging_v reads itself: a VIEW cannot (an incremental model may read its own "
            "table)");
}

TEST(ExactDependencies, UnknownTablesAreFoundAllWithTheirLines) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\nSELECT a.k\nFROM raw_known a\nJOIN nowhere n ON n.k = a.k,\n  raw_missing");
  auto set = LoadModelSet(f.dir(), std::set<std::string>{"raw_known"});
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().message(),
            "staging/staging_a.sql:4: unknown table 'nowhere' (not a model, a known raw table or a CTE)\n"
            "staging/staging_a.sql:5: unknown table 'raw_missing' (not a model, a known raw table or a CTE)");
}

TEST(ExactDependencies, ASelectThatDoesNotCompileFallsBackToTheGuess) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", Full("staging_a", "SELECT k FROM raw_x"));
  f.Write("staging/staging_b.sql", Full("staging_b", "SELECT a.nope FROM staging_a AS a"));
  auto set = LoadModelSet(f.dir());
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->guessed.size(), 1u);
  EXPECT_EQ(set->guessed[0], "staging/staging_b.sql:2: staging_b: no such column: a.nope");
  const Model* b = set->Find("staging_b");
  ASSERT_NE(b, nullptr);
  ASSERT_EQ(b->reads.size(), 1u);
  EXPECT_EQ(b->reads[0].name, "staging_a");
}

TEST(ExactDependencies, ColumnsReadAreExact) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          Full("staging_a", "WITH t AS (SELECT k, price FROM raw_x WHERE flag = 1) SELECT k, price * 2 AS p FROM t"));
  std::vector<Model> models;
  auto set = LoadModelSet(f.dir());
  ASSERT_TRUE(set.ok()) << set.status().message();
  ProbeOptions options;
  options.raw_columns["raw_x"] = {"k", "price", "flag", "other"};
  auto probed = ProbeModels(set->models, options);
  ASSERT_TRUE(probed.ok()) << probed.status().message();
  const ModelCompile* c = probed->Find("staging_a");
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->compiled) << c->error;
  EXPECT_EQ(c->reads.at("raw_x"), (std::set<std::string>{"flag", "k", "price"}));
  EXPECT_EQ(c->columns, (Names{"k", "p"}));
  EXPECT_FALSE(probed->raw_open.at("raw_x"));
}

TEST(ExactDependencies, TheDefaultModelsCompileExactly) {
  auto set = LoadModelSet(std::filesystem::path(SLUICE_SOURCE_DIR) / "pipeline/default/models");
  ASSERT_TRUE(set.ok()) << set.status().message();
  EXPECT_EQ(set->guessed, Names{});
  std::map<std::string, Names> reads;
  for (const Model& m : set->models)
    for (const TableReference& r : m.reads) reads[m.name].push_back(r.name);
  EXPECT_EQ(reads["staging_weather_daily"], Names{"raw_weather_regions"});  // json_each is not a table
  EXPECT_EQ(reads["foundation_dim_commodity"], (Names{"staging_usda_psd", "staging_cftc_cot"}));  // not the CTEs
  EXPECT_EQ(reads["serving_positioning_weekly"],
            (Names{"foundation_fct_prices_daily", "foundation_fct_positioning"}));  // in order of mention
  EXPECT_EQ(reads["serving_coffee_balance"], (Names{"foundation_fct_supply_demand", "foundation_dim_commodity"}));
}

}  // namespace
}  // namespace sluice::models
