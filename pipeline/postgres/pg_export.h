// export.serving on PostgreSQL: the `serving` schema published as the
// schema readers use, `analytics`, in one transaction:
//
//   BEGIN (the writer lock; lock_timeout 5 min)
//   DROP SCHEMA IF EXISTS analytics_next CASCADE     -- a crashed export's
//   CREATE SCHEMA analytics_next
//   CREATE TABLE analytics_next.<t> AS SELECT * FROM serving.<t>   -- each
//       table and view of `serving` named serving_*, as a table
//   CREATE TABLE analytics_next._sluice_export (version, exported_at,
//       tables, rows)                                -- one row
//   GRANT USAGE / SELECT to whoever had USAGE on the old analytics schema
//   DROP SCHEMA IF EXISTS analytics CASCADE
//   ALTER SCHEMA analytics_next RENAME TO analytics
//   INSERT INTO sluice.exports (version, tables, rows, inputs)
//   COMMIT
//
// Readers see the old analytics schema or the new one, never a mix: until
// the COMMIT every other session sees the old one, and a reader's open
// transaction that read it keeps its tables locked, so the swap waits for
// it (up to lock_timeout, then the export fails and may be retried). Views
// readers made on analytics tables go with the old schema: readers read
// the tables themselves.
//
// Publishes only when a serving table changed (as serving_export.h): the
// serving tables' build versions (sluice.model_builds; a view or a table
// no model built makes the inputs unknown, so every export publishes) equal
// the last export's and analytics holds that export: nothing is written,
// published = false. `force` publishes anyway. NotFound when `serving`
// holds no serving_ table; Unavailable "cancelled" when cancelled() turns
// true (polled between tables and during statements).
#pragma once

#include <functional>

#include "pipeline/postgres/pg_connection.h"
#include "pipeline/serving/serving_export.h"
#include "schemas/status.h"

namespace sluice::postgres {

inline constexpr const char* kAnalyticsSchema = "analytics";
inline constexpr const char* kAnalyticsNextSchema = "analytics_next";

// report.bytes is the new schema's size on disk (pg_total_relation_size).
Result<serving::ExportReport> ExportServing(PgConnection& c, const std::function<bool()>& cancelled = {},
                                            bool force = false);

}  // namespace sluice::postgres
