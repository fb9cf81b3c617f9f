// `models lineage`: which raw columns feed a model's column, as values or
// only as row filters and keys, through CTEs, subqueries and models.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "pipeline/models/model_lineage.h"
#include "tests/models/models_folder.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;

std::set<std::string> Names(const std::vector<LineageSource>& sources) {
  std::set<std::string> out;
  for (const LineageSource& s : sources) out.insert(s.table + "." + s.column);
  return out;
}

std::vector<std::string> Path(const LineageSource& s) {
  std::vector<std::string> out;
  for (const LineageHop& h : s.path) out.push_back(h.table + "." + h.column);
  return out;
}

ColumnLineage Trace(const ModelsFolder& f, const std::string& model, const std::string& column) {
  auto l = TraceColumnLineage(f.dir(), nullptr, model, column);
  EXPECT_TRUE(l.ok()) << l.status().message();
  return l.ok() ? *l : ColumnLineage{};
}

using Set = std::set<std::string>;

TEST(ModelLineage, TheSQLiteHereTellsColumnOrigins) { EXPECT_TRUE(ColumnOriginsAvailable()); }

TEST(ModelLineage, DefaultServingColumnDownToItsRawColumn) {
  auto l = TraceColumnLineage(std::filesystem::path(SLUICE_SOURCE_DIR) / "pipeline/default/models", nullptr,
                              "serving_price_monthly", "avg_settle");
  ASSERT_TRUE(l.ok()) << l.status().message();
  ASSERT_EQ(l->sources.size(), 1u) << FormatColumnLineage(*l);
  EXPECT_EQ(Path(l->sources[0]),
            (std::vector<std::string>{"serving_price_monthly.avg_settle", "foundation_fct_prices_daily.settle",
                                      "staging_futures_prices.settle", "raw_futures_prices.settle"}));
  for (const LineageHop& h : l->sources[0].path) EXPECT_TRUE(h.via.empty() || h.via == "value");
  // The newest row per contract and day, the front contract: rows, not values.
  const Set filters = Names(l->filters);
  for (const char* c : {"raw_futures_prices._load_id", "raw_futures_prices.trade_date", "raw_futures_prices.contract",
                        "raw_futures_prices.contract_month"})
    EXPECT_TRUE(filters.count(c)) << c << "\n" << FormatColumnLineage(*l);
  EXPECT_FALSE(filters.count("raw_futures_prices.settle"));
  EXPECT_TRUE(l->notes.empty()) << FormatColumnLineage(*l);
  EXPECT_EQ(FormatColumnLineage(*l).substr(0, FormatColumnLineage(*l).find('\n')),
            "serving_price_monthly.avg_settle <- foundation_fct_prices_daily.settle <- staging_futures_prices.settle "
            "<- raw_futures_prices.settle");
}

TEST(ModelLineage, DefaultModelsScalarSubqueryAndTableValuedFunction) {
  const auto dir = std::filesystem::path(SLUICE_SOURCE_DIR) / "pipeline/default/models";
  // (SELECT f.settle ... WHERE f.commodity_key = p.commodity_key AND f.is_front = 1 ...): settle is the
  // value; the subquery's keys are not.
  auto front = TraceColumnLineage(dir, nullptr, "serving_positioning_weekly", "front_settle");
  ASSERT_TRUE(front.ok()) << front.status().message();
  EXPECT_EQ(Names(front->sources), Set{"raw_futures_prices.settle"}) << FormatColumnLineage(*front);
  EXPECT_TRUE(Names(front->filters).count("raw_futures_prices.contract_month"));  // is_front
  EXPECT_TRUE(Names(front->filters).count("raw_cftc_cot.Open_Interest_All"));    // WHERE p.open_interest > 0
  // obs_date is json_extract(d.value, ...) of json_each(r.daily).
  auto day = TraceColumnLineage(dir, nullptr, "foundation_fct_weather_daily", "obs_date");
  ASSERT_TRUE(day.ok()) << day.status().message();
  EXPECT_EQ(Names(day->sources), Set{"raw_weather_regions.daily"}) << FormatColumnLineage(*day);
  // Reference data: constants of a CTE.
  auto name = TraceColumnLineage(dir, nullptr, "serving_price_monthly", "commodity_name");
  ASSERT_TRUE(name.ok());
  EXPECT_TRUE(name->sources.empty()) << FormatColumnLineage(*name);
}

TEST(ModelLineage, ExpressionOfTwoColumnsCaseAndConstants) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\n"
          "SELECT k, price * qty AS amount, CASE WHEN flag = 1 THEN price ELSE 0 END AS flagged,\n"
          "       'EUR' AS currency, 1 one, count(*) OVER () AS n, upper(trim(name)) nm\n"
          "FROM raw_orders WHERE status <> 'void'\n");
  EXPECT_EQ(Names(Trace(f, "staging_a", "amount").sources), (Set{"raw_orders.price", "raw_orders.qty"}));
  EXPECT_EQ(Names(Trace(f, "staging_a", "flagged").sources), (Set{"raw_orders.flag", "raw_orders.price"}));
  EXPECT_EQ(Names(Trace(f, "staging_a", "nm").sources), (Set{"raw_orders.name"}));
  for (const char* c : {"currency", "one", "n"}) {
    ColumnLineage l = Trace(f, "staging_a", c);
    EXPECT_TRUE(l.sources.empty()) << c << ": " << FormatColumnLineage(l);
    EXPECT_EQ(Names(l.filters), Set{"raw_orders.status"}) << c;
  }
  EXPECT_EQ(FormatColumnLineage(Trace(f, "staging_a", "currency")),
            "staging_a.currency: no source columns (a constant, or a count of rows)\n"
            "rows decided by (filters, join, group and subquery keys; <~ marks such a step):\n"
            "  raw_orders.status: staging_a.currency <~ raw_orders.status\n");
}

TEST(ModelLineage, CteRenamingAndStarThroughCtesHidingAModel) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT k, price FROM raw_prices\n");
  // The CTE staging_a hides the model staging_a; its p is raw_other.cost.
  f.Write("staging/staging_b.sql",
          "MODEL (name staging_b, kind FULL);\n"
          "WITH staging_a AS (SELECT id AS k, cost AS p FROM raw_other),\n"
          "     renamed(key, value) AS (SELECT k, p FROM staging_a),\n"
          "     starred AS (SELECT *, value * 2 AS doubled FROM renamed)\n"
          "SELECT s.*, key AS again FROM starred AS s\n");
  ColumnLineage value = Trace(f, "staging_b", "value");
  ASSERT_EQ(value.sources.size(), 1u) << FormatColumnLineage(value);
  EXPECT_EQ(Path(value.sources[0]), (std::vector<std::string>{"staging_b.value", "raw_other.cost"}));
  EXPECT_EQ(Names(Trace(f, "staging_b", "doubled").sources), Set{"raw_other.cost"});
  EXPECT_EQ(Names(Trace(f, "staging_b", "again").sources), Set{"raw_other.id"});
  EXPECT_EQ(Names(Trace(f, "staging_b", "key").sources), Set{"raw_other.id"});
}

TEST(ModelLineage, JoinOfTwoModelsValuesAndKeys) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT trim(id) AS k, qty FROM raw_a\n");
  f.Write("staging/staging_b.sql", "MODEL (name staging_b, kind FULL);\nSELECT key AS k, unit_price FROM raw_b\n");
  f.Write("foundation/foundation_c.sql",
          "MODEL (name foundation_c, kind FULL);\n"
          "SELECT a.k, a.qty * b.unit_price AS amount\n"
          "FROM staging_a AS a JOIN staging_b AS b ON b.k = a.k\n");
  ColumnLineage l = Trace(f, "foundation_c", "amount");
  EXPECT_EQ(Names(l.sources), (Set{"raw_a.qty", "raw_b.unit_price"})) << FormatColumnLineage(l);
  EXPECT_EQ(Names(l.filters), (Set{"raw_a.id", "raw_b.key"}));
  for (const LineageSource& s : l.filters)
    if (s.table == "raw_b") {
      ASSERT_EQ(s.path.size(), 3u);
      EXPECT_EQ(s.path[1].via, "filter");
      EXPECT_EQ(s.path[2].via, "value");
    }
  EXPECT_EQ(Names(Trace(f, "foundation_c", "k").sources), Set{"raw_a.id"});
}

TEST(ModelLineage, WindowAndAggregate) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\n"
          "SELECT g, sum(v) OVER (PARTITION BY g ORDER BY d) AS running, lag(v) OVER w AS previous\n"
          "FROM raw_t WINDOW w AS (PARTITION BY g ORDER BY d)\n");
  f.Write("staging/staging_b.sql",
          "MODEL (name staging_b, kind FULL);\n"
          "SELECT g, round(avg(v), 2) AS mean, max(d) AS last_day FROM raw_t WHERE v > 0 GROUP BY g HAVING count(*) > 1\n");
  EXPECT_EQ(Names(Trace(f, "staging_a", "running").sources), (Set{"raw_t.d", "raw_t.g", "raw_t.v"}));
  EXPECT_EQ(Names(Trace(f, "staging_a", "previous").sources), (Set{"raw_t.d", "raw_t.g", "raw_t.v"}));
  ColumnLineage mean = Trace(f, "staging_b", "mean");
  EXPECT_EQ(Names(mean.sources), Set{"raw_t.v"});
  EXPECT_EQ(Names(mean.filters), Set{"raw_t.g"});  // GROUP BY; v is a value already
  EXPECT_EQ(Names(Trace(f, "staging_b", "last_day").filters), (Set{"raw_t.g", "raw_t.v"}));
}

TEST(ModelLineage, SubqueriesInFromAndScalarSubqueries) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT k, price, day FROM raw_p\n");
  f.Write("staging/staging_b.sql",
          "MODEL (name staging_b, kind FULL);\n"
          "SELECT s.v + 1 AS v1,\n"
          "       (SELECT max(a.price) FROM staging_a AS a WHERE a.k = s.k) AS top,\n"
          "       EXISTS (SELECT 1 FROM staging_a AS a2 WHERE a2.day = s.k) AS seen\n"
          "FROM (SELECT k, q * 2 AS v FROM (SELECT key AS k, qty AS q FROM raw_q)) AS s\n");
  EXPECT_EQ(Names(Trace(f, "staging_b", "v1").sources), Set{"raw_q.qty"});
  ColumnLineage top = Trace(f, "staging_b", "top");
  EXPECT_EQ(Names(top.sources), Set{"raw_p.price"}) << FormatColumnLineage(top);
  EXPECT_EQ(Names(top.filters), (Set{"raw_p.k", "raw_q.key"}));
  ColumnLineage seen = Trace(f, "staging_b", "seen");
  EXPECT_TRUE(seen.sources.empty()) << FormatColumnLineage(seen);
  EXPECT_EQ(Names(seen.filters), (Set{"raw_p.day", "raw_q.key"}));
}

TEST(ModelLineage, CompoundArmsEachFeedTheColumn) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\n"
          "WITH x AS (SELECT id, amount FROM raw_x)\n"
          "SELECT * FROM x\n"
          "UNION ALL SELECT ref, cost FROM raw_y\n"
          "UNION ALL SELECT 0, 0\n"
          "ORDER BY 1\n");
  EXPECT_EQ(Names(Trace(f, "staging_a", "amount").sources), (Set{"raw_x.amount", "raw_y.cost"}));
  EXPECT_EQ(Names(Trace(f, "staging_a", "id").sources), (Set{"raw_x.id", "raw_y.ref"}));
}

TEST(ModelLineage, RecursiveCtesAndAnIncrementalModelReadingItself) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind INCREMENTAL_BY_TIME_RANGE (time_column d), start '2020-01-01');\n"
          "WITH RECURSIVE up AS (SELECT max(price) AS j FROM raw_r UNION ALL SELECT j + 1 FROM up WHERE j < 3)\n"
          "SELECT r.d, r.price p, (SELECT max(j) FROM up) AS top,\n"
          "       coalesce((SELECT max(s.p) FROM staging_a AS s), 0) AS prev_max\n"
          "FROM raw_r AS r WHERE r.d BETWEEN @start_ds AND @end_ds\n");
  ColumnLineage top = Trace(f, "staging_a", "top");
  EXPECT_EQ(Names(top.sources), Set{"raw_r.price"}) << FormatColumnLineage(top);
  EXPECT_TRUE(top.notes.empty());
  ColumnLineage prev = Trace(f, "staging_a", "prev_max");
  ASSERT_EQ(prev.sources.size(), 1u) << FormatColumnLineage(prev);
  EXPECT_EQ(Path(prev.sources[0]), (std::vector<std::string>{"staging_a.prev_max", "staging_a.p", "raw_r.price"}));
}

TEST(ModelLineage, WhatIsNotTracedIsANote) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql",
          "MODEL (name staging_a, kind FULL);\n"
          "SELECT v FROM (WITH inner_cte AS (SELECT price AS v FROM raw_p) SELECT v FROM inner_cte)\n");
  ColumnLineage l = Trace(f, "staging_a", "v");
  EXPECT_TRUE(l.sources.empty());
  ASSERT_EQ(l.notes.size(), 1u) << FormatColumnLineage(l);
  EXPECT_NE(l.notes[0].find("a WITH inside a subquery"), std::string::npos) << l.notes[0];
}

TEST(ModelLineage, UnknownModelOrColumnAndAModelThatDoesNotCompile) {
  ModelsFolder f;
  f.Write("staging/staging_a.sql", "MODEL (name staging_a, kind FULL);\nSELECT k, price FROM raw_prices\n");
  f.Write("foundation/foundation_b.sql", "MODEL (name foundation_b, kind FULL);\nSELECT nope FROM staging_a\n");
  auto model = TraceColumnLineage(f.dir(), nullptr, "staging_x", "k");
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), Code::kNotFound);
  EXPECT_EQ(model.status().message(), "unknown model 'staging_x' (models: foundation_b, staging_a)");
  auto column = TraceColumnLineage(f.dir(), nullptr, "staging_a", "prize");
  ASSERT_FALSE(column.ok());
  EXPECT_EQ(column.status().code(), Code::kNotFound);
  EXPECT_EQ(column.status().message(), "model staging_a has no column 'prize' (columns: k, price)");
  auto broken = TraceColumnLineage(f.dir(), nullptr, "foundation_b", "nope");
  ASSERT_FALSE(broken.ok());
  EXPECT_EQ(broken.status().code(), Code::kInvalidArgument);
  EXPECT_NE(broken.status().message().find("foundation/foundation_b.sql:2: model foundation_b does not compile"),
            std::string::npos)
      << broken.status().message();
}

}  // namespace
}  // namespace sluice::models
