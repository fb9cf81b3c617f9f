// Changed-only runs and interval tracking against a real lakehouse file:
// what a run builds, skips and backfills, and why, as the lakehouse records
// it (_sluice_model_builds, _sluice_model_intervals, the load ledger).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "pipeline/lakehouse/load_ledger.h"
#include "pipeline/models/model_plan.h"
#include "pipeline/models/model_run.h"
#include "schemas/sqlite_db.h"
#include "tests/models/models_folder.h"
#include "tests/models/query_rows.h"

namespace sluice::models {
namespace {

using testing::ModelsFolder;
using Names = std::vector<std::string>;

const char* kStaging = "MODEL (name staging_prices, kind FULL);\nSELECT code, day, price FROM raw_prices";
const char* kFoundation =
    "MODEL (name foundation_fct_prices, kind INCREMENTAL_BY_TIME_RANGE (time_column day), start '2024-01-01');\n"
    "SELECT code, day, price FROM staging_prices WHERE day BETWEEN @start_ds AND @end_ds";
const char* kServing =
    "MODEL (name serving_avg, kind FULL);\n"
    "SELECT code, avg(price) AS avg_price, count(*) AS n FROM foundation_fct_prices GROUP BY code";
const char* kOther = "MODEL (name staging_units, kind FULL);\nSELECT DISTINCT unit FROM raw_units";

class ModelChanges : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (folder_.dir() / "lakehouse.sqlite").string();
    ASSERT_TRUE(lakehouse::OpenLakehouse(db_, path_).ok());
    Exec("CREATE TABLE raw_prices (code TEXT, day TEXT, price REAL, _load_id INTEGER)");
    Exec("CREATE TABLE raw_units (unit TEXT, _load_id INTEGER)");
    ASSERT_TRUE(ledger_.Open(db_).ok());
    models_.Write("staging/staging_prices.sql", kStaging);
    models_.Write("staging/staging_units.sql", kOther);
    models_.Write("foundation/foundation_fct_prices.sql", kFoundation);
    models_.Write("serving/serving_avg.sql", kServing);
  }

  void Exec(const std::string& sql) { ASSERT_TRUE(db_.Exec(sql).ok()) << sql << ": " << db_.error(); }

  // One landing file loaded into `table` as the loader does: rows and the
  // ledger row in one transaction, the rows carrying its load_id.
  void Load(const std::string& table, const std::string& file, const std::string& values) {
    Exec("BEGIN");
    auto id = ledger_.NextLoadId();
    ASSERT_TRUE(id.ok());
    Exec("INSERT INTO " + table + " SELECT *, " + std::to_string(*id) + " FROM (VALUES " + values + ")");
    ASSERT_TRUE(ledger_.Record(file, table, 1, *id).ok());
    Exec("COMMIT");
  }

  Names Query(const std::string& sql) { return testing::QueryRows(db_, sql); }

  RunReport Run(RunOptions options) {
    RunReport report;
    Status s = RunModelsFolder(db_, models_.dir(), options, &report);
    EXPECT_TRUE(s.ok()) << s.message() << "\n" << FormatRunReport(report);
    return report;
  }
  RunReport RunTo(const std::string& end_ds) {
    RunOptions o;
    o.end_ds = end_ds;
    return Run(o);
  }

  static const ModelRunResult& Find(const RunReport& r, const std::string& name) {
    for (const ModelRunResult& m : r.models)
      if (m.name == name) return m;
    static const ModelRunResult none;
    ADD_FAILURE() << "no " << name << " in the report";
    return none;
  }
  static Names Built(const RunReport& r) {
    Names out;
    for (const ModelRunResult& m : r.models)
      if (m.status == ModelRunStatus::kBuilt) out.push_back(m.name);
    return out;
  }
  Names Days(const std::string& model) {
    return Query("SELECT min(day) || '..' || max(day) || ' ' || count(*) FROM _sluice_model_intervals WHERE model = '" +
                 model + "'");
  }

  ModelsFolder folder_;
  ModelsFolder models_;
  std::string path_;
  Database db_;
  lakehouse::LoadLedger ledger_;
};

TEST_F(ModelChanges, FirstRunBuildsAllThenNothingNewBuildsNothing) {
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0), ('a', '2024-01-03', 3.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunReport first = RunTo("2024-01-03");
  EXPECT_EQ(Built(first), (Names{"staging_prices", "staging_units", "foundation_fct_prices", "serving_avg"}));
  EXPECT_EQ(Find(first, "staging_prices").reason, "no build recorded");
  const ModelRunResult& f = Find(first, "foundation_fct_prices");
  EXPECT_EQ(f.action, Action::kBackfill);
  ASSERT_EQ(f.intervals.size(), 1u);
  EXPECT_EQ(FormatDayRange(f.intervals[0]), "2024-01-01..2024-01-03");
  EXPECT_EQ(f.rows, 2);
  EXPECT_EQ(Days("foundation_fct_prices"), Names{"2024-01-01..2024-01-03 3"});

  RunReport again = RunTo("2024-01-03");
  EXPECT_EQ(Built(again), Names{});
  for (const ModelRunResult& m : again.models) EXPECT_EQ(m.action, Action::kSkip) << m.name;
  EXPECT_EQ(Find(again, "foundation_fct_prices").reason, "every interval to 2024-01-03 processed");
  EXPECT_EQ(Find(again, "serving_avg").reason.rfind("unchanged since build ", 0), 0u)
      << Find(again, "serving_avg").reason;
  EXPECT_EQ(Query("SELECT count(*) FROM _sluice_model_builds"), Names{"4"});
}

TEST_F(ModelChanges, ALoadedFileRebuildsOnlyWhatReadsIt) {
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunTo("2024-01-03");
  const Names builds_before = Query("SELECT model || ' ' || version FROM _sluice_model_builds ORDER BY model");

  // A correction for the run's own day arrives: prices change, units do not.
  Load("raw_prices", "prices/2024/01/b.csv.gz", "('a', '2024-01-03', 5.0)");
  RunReport r = RunTo("2024-01-03");
  EXPECT_EQ(Built(r), (Names{"staging_prices", "foundation_fct_prices", "serving_avg"}));
  EXPECT_EQ(Find(r, "staging_prices").reason, "upstream raw_prices loaded 1 file");
  EXPECT_EQ(Find(r, "staging_units").action, Action::kSkip);
  const ModelRunResult& f = Find(r, "foundation_fct_prices");
  EXPECT_EQ(f.reason, "upstream staging_prices builds in this run: 2024-01-03 again");
  ASSERT_EQ(f.intervals.size(), 1u);
  EXPECT_EQ(FormatDayRange(f.intervals[0]), "2024-01-03");
  EXPECT_EQ(f.rows, 1);
  EXPECT_EQ(Find(r, "serving_avg").reason, "upstream foundation_fct_prices builds in this run");
  EXPECT_EQ(Query("SELECT code, avg_price, n FROM serving_avg"), Names{"a|3.0|2"});
  // staging_units kept its build; the others got new versions.
  const Names builds_after = Query("SELECT model || ' ' || version FROM _sluice_model_builds ORDER BY model");
  EXPECT_EQ(builds_after[3], builds_before[3]);  // staging_units
  EXPECT_NE(builds_after[0], builds_before[0]);
}

TEST_F(ModelChanges, EachNewDayIsProcessedOnceAndASqlChangeReprocessesTheHistory) {
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunTo("2024-01-02");
  for (const std::string day : {"2024-01-03", "2024-01-04", "2024-01-05"}) {
    Load("raw_prices", "prices/2024/01/" + day + ".csv.gz", "('a', '" + day + "', 2.0)");
    RunReport r = RunTo(day);
    const ModelRunResult& f = Find(r, "foundation_fct_prices");
    ASSERT_EQ(f.intervals.size(), 1u) << day;
    EXPECT_EQ(FormatDayRange(f.intervals[0]), day);
    EXPECT_EQ(f.reason, "missing intervals " + day);
    EXPECT_EQ(f.rows, 1);  // only the new day's row was inserted
  }
  EXPECT_EQ(Days("foundation_fct_prices"), Names{"2024-01-01..2024-01-05 5"});
  EXPECT_EQ(Query("SELECT count(*) FROM foundation_fct_prices"), Names{"4"});

  // Skipping a day: both missing days are processed, as one range.
  RunReport gap = RunTo("2024-01-07");
  EXPECT_EQ(Find(gap, "foundation_fct_prices").reason, "missing intervals 2024-01-06..2024-01-07");

  // A new SQL (a new column): the table is rebuilt over the whole history.
  models_.Write("foundation/foundation_fct_prices.sql",
                "MODEL (name foundation_fct_prices, kind INCREMENTAL_BY_TIME_RANGE (time_column day), "
                "start '2024-01-01');\n"
                "SELECT code, day, price, price * 2 AS doubled FROM staging_prices "
                "WHERE day BETWEEN @start_ds AND @end_ds");
  ActionOptions plan_options;
  plan_options.end_ds = "2024-01-07";
  auto plan = PlanModelsFolder(models_.dir(), &db_, plan_options);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  for (const PlanEntry& e : *plan) {
    if (e.name != "foundation_fct_prices") continue;
    EXPECT_EQ(e.action, Action::kBackfill);
    EXPECT_EQ(e.reason, "sql changed: 2024-01-01..2024-01-07");
  }
  RunReport changed = RunTo("2024-01-07");
  EXPECT_EQ(Find(changed, "foundation_fct_prices").rows, 4);
  EXPECT_EQ(Query("SELECT sum(doubled) FROM foundation_fct_prices"), Names{"14.0"});
  EXPECT_EQ(Query("SELECT count(DISTINCT fingerprint), count(*) FROM _sluice_model_intervals "
                  "WHERE model = 'foundation_fct_prices'"),
            Names{"1|7"});
  EXPECT_EQ(Find(changed, "serving_avg").status, ModelRunStatus::kBuilt);
  EXPECT_EQ(Find(changed, "staging_prices").status, ModelRunStatus::kSkipped);
}

TEST_F(ModelChanges, BackfillReprocessesTheRangeAndPlanSaysWhatARunWouldDo) {
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0), ('a', '2024-01-04', 3.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunTo("2024-01-04");

  ActionOptions plan_options;
  plan_options.end_ds = "2024-01-06";
  auto plan = PlanModelsFolder(models_.dir(), &db_, plan_options);
  ASSERT_TRUE(plan.ok()) << plan.status().message();
  ASSERT_EQ(plan->size(), 4u);
  EXPECT_EQ((*plan)[0].action, Action::kSkip);
  EXPECT_EQ((*plan)[2].name, "foundation_fct_prices");
  EXPECT_EQ((*plan)[2].action, Action::kBackfill);
  EXPECT_EQ((*plan)[2].reason, "missing intervals 2024-01-05..2024-01-06");
  EXPECT_EQ((*plan)[3].action, Action::kBuild);
  EXPECT_EQ((*plan)[3].reason, "upstream foundation_fct_prices builds in this run");
  // A plan writes nothing.
  EXPECT_EQ(Days("foundation_fct_prices"), Names{"2024-01-01..2024-01-04 4"});

  // Rows changed by hand in the foundation table come back from a backfill.
  Exec("UPDATE foundation_fct_prices SET price = 100");
  RunOptions backfill;
  backfill.start_ds = "2024-01-02";
  backfill.end_ds = "2024-01-03";
  backfill.backfill_models = {"foundation_fct_prices"};
  RunReport r = Run(backfill);
  const ModelRunResult& f = Find(r, "foundation_fct_prices");
  EXPECT_EQ(f.reason, "backfill 2024-01-02..2024-01-03");
  EXPECT_EQ(f.rows, 1);
  EXPECT_EQ(Query("SELECT day, price FROM foundation_fct_prices ORDER BY day"),
            (Names{"2024-01-02|1.0", "2024-01-04|100.0"}));
  EXPECT_EQ(Find(r, "serving_avg").status, ModelRunStatus::kBuilt);
}

TEST_F(ModelChanges, LookbackDaysGoAgainWithEveryNewDay) {
  models_.Write("foundation/foundation_fct_prices.sql",
                "MODEL (name foundation_fct_prices, kind INCREMENTAL_BY_TIME_RANGE (time_column day), "
                "start '2024-01-01', lookback 2);\n"
                "SELECT code, day, price FROM staging_prices WHERE day BETWEEN @start_ds AND @end_ds");
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunTo("2024-01-04");
  // A late row for a day already processed, and the next day.
  Load("raw_prices", "prices/2024/01/b.csv.gz", "('a', '2024-01-03', 2.0), ('a', '2024-01-05', 3.0)");
  RunReport r = RunTo("2024-01-05");
  const ModelRunResult& f = Find(r, "foundation_fct_prices");
  EXPECT_EQ(f.reason, "missing intervals 2024-01-05; lookback 2024-01-03..2024-01-04");
  ASSERT_EQ(f.intervals.size(), 1u);
  EXPECT_EQ(FormatDayRange(f.intervals[0]), "2024-01-03..2024-01-05");
  EXPECT_EQ(f.rows, 2);
  EXPECT_EQ(Query("SELECT day FROM foundation_fct_prices ORDER BY day"),
            (Names{"2024-01-02", "2024-01-03", "2024-01-05"}));
  // Nothing new: the lookback alone runs nothing.
  EXPECT_EQ(Find(RunTo("2024-01-05"), "foundation_fct_prices").action, Action::kSkip);

  models_.Write("staging/staging_units.sql", "MODEL (name staging_units, kind FULL, lookback 1);\nSELECT 1 AS u");
  RunOptions o;
  RunReport report;
  Status s = RunModelsFolder(db_, models_.dir(), o, &report);
  EXPECT_NE(s.message().find("lookback is for INCREMENTAL_BY_TIME_RANGE models"), std::string::npos) << s.message();
}

TEST_F(ModelChanges, UniqueKeyModelsUpsertAndCountInsertedAndUpdated) {
  models_.Write("foundation/foundation_latest_price.sql",
                "MODEL (name foundation_latest_price, kind INCREMENTAL_BY_UNIQUE_KEY (unique_key (code, day)),\n"
                "  grain (code, day), audits (unique_grain));\n"
                "SELECT code, day, max(price) AS price FROM staging_prices GROUP BY code, day");
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0), ('b', '2024-01-02', 2.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunReport first = RunTo("2024-01-02");
  const ModelRunResult& f = Find(first, "foundation_latest_price");
  EXPECT_EQ(f.status, ModelRunStatus::kBuilt);
  EXPECT_EQ(f.inserted, 2);
  EXPECT_EQ(f.updated, 0);

  // A new price for a key it has, and a new key.
  Load("raw_prices", "prices/2024/01/b.csv.gz", "('a', '2024-01-02', 5.0), ('c', '2024-01-02', 3.0)");
  RunReport second = RunTo("2024-01-02");
  const ModelRunResult& g = Find(second, "foundation_latest_price");
  EXPECT_EQ(g.reason, "upstream staging_prices builds in this run");
  EXPECT_EQ(g.inserted, 1);
  EXPECT_EQ(g.updated, 2);
  EXPECT_EQ(Query("SELECT code, price FROM foundation_latest_price ORDER BY code"),
            (Names{"a|5.0", "b|2.0", "c|3.0"}));
  EXPECT_EQ(Find(RunTo("2024-01-02"), "foundation_latest_price").action, Action::kSkip);

  // A key returned twice: an error, nothing written.
  models_.Write("foundation/foundation_latest_price.sql",
                "MODEL (name foundation_latest_price, kind INCREMENTAL_BY_UNIQUE_KEY (unique_key code));\n"
                "SELECT code, day, price FROM staging_prices");
  RunOptions o;
  o.end_ds = "2024-01-02";
  RunReport report;
  Status s = RunModelsFolder(db_, models_.dir(), o, &report);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("1 keys returned more than once (unique_key \"code\")"), std::string::npos)
      << s.message();
  EXPECT_EQ(Query("SELECT count(*) FROM foundation_latest_price"), Names{"3"});
}

TEST_F(ModelChanges, SeedModelsLoadTheirCsvAndBuildAgainWhenItChanges) {
  models_.Write("staging/staging_country_codes.sql",
                "MODEL (name staging_country_codes, kind SEED (path 'seeds/countries.csv'),\n"
                "  grain (code), audits (unique_grain));\n");
  models_.Write("staging/seeds/countries.csv", "code,name,rank,zip\nBR,Brazil,1,0042\nVN,\"Viet Nam, the\",2,\n");
  models_.Write("foundation/foundation_countries.sql",
                "MODEL (name foundation_countries, kind FULL);\n"
                "SELECT name, rank + 1 AS next_rank FROM staging_country_codes");
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunReport first = RunTo("2024-01-02");
  EXPECT_EQ(Find(first, "staging_country_codes").status, ModelRunStatus::kBuilt);
  EXPECT_EQ(Find(first, "staging_country_codes").rows, 2);
  EXPECT_EQ(Query("SELECT code, name, typeof(rank), zip FROM staging_country_codes ORDER BY code"),
            (Names{"BR|Brazil|integer|0042", "VN|Viet Nam, the|integer|NULL"}));
  EXPECT_EQ(Query("SELECT next_rank FROM foundation_countries ORDER BY next_rank"), (Names{"2", "3"}));
  EXPECT_EQ(Find(RunTo("2024-01-02"), "staging_country_codes").action, Action::kSkip);

  models_.Write("staging/seeds/countries.csv", "code,name,rank,zip\nBR,Brazil,1,0042\nCO,Colombia,3,\n");
  RunReport changed = RunTo("2024-01-02");
  EXPECT_EQ(Find(changed, "staging_country_codes").reason, "sql changed");
  EXPECT_EQ(Find(changed, "foundation_countries").reason, "upstream staging_country_codes builds in this run");
  EXPECT_EQ(Query("SELECT code FROM staging_country_codes ORDER BY code"), (Names{"BR", "CO"}));

  // Confined to the models folder; the header is the whole file.
  for (const auto& [text, error] : std::vector<std::pair<std::string, std::string>>{
           {"kind SEED (path '../x.csv')", "seed path must not contain '..'"},
           {"kind SEED (path '/etc/passwd')", "seed path must be relative"},
           {"kind SEED (path 'nope.csv')", "no seed file nope.csv beside the model"}}) {
    models_.Write("staging/staging_country_codes.sql", "MODEL (name staging_country_codes, " + text + ");\n");
    RunOptions o;
    RunReport report;
    Status s = RunModelsFolder(db_, models_.dir(), o, &report);
    EXPECT_NE(s.message().find(error), std::string::npos) << s.message();
  }
  models_.Write("staging/staging_country_codes.sql",
                "MODEL (name staging_country_codes, kind SEED (path 'seeds/countries.csv'));\nSELECT 1");
  RunOptions o;
  RunReport report;
  EXPECT_NE(RunModelsFolder(db_, models_.dir(), o, &report).message().find("a SEED model has no SELECT"),
            std::string::npos);
}

TEST_F(ModelChanges, AFailedBuildRecordsNothing) {
  Load("raw_prices", "prices/2024/01/a.csv.gz", "('a', '2024-01-02', 1.0)");
  Load("raw_units", "units/2024/01/u.csv.gz", "('USD')");
  RunTo("2024-01-02");
  const Names before = Query("SELECT model, version FROM _sluice_model_builds ORDER BY model");
  models_.Write("serving/serving_avg.sql", "MODEL (name serving_avg, kind FULL);\nSELECT nope FROM foundation_fct_prices");
  RunOptions o;
  o.end_ds = "2024-01-02";
  RunReport report;
  Status s = RunModelsFolder(db_, models_.dir(), o, &report);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(Find(report, "serving_avg").status, ModelRunStatus::kFailed);
  EXPECT_EQ(Query("SELECT model, version FROM _sluice_model_builds ORDER BY model"), before);
  EXPECT_EQ(Query("SELECT count(*) FROM sqlite_master WHERE name LIKE '\\_sluice\\_build%' ESCAPE '\\'"), Names{"0"});
}

}  // namespace
}  // namespace sluice::models
