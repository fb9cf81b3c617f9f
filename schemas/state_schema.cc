#include "schemas/state_schema.h"

#include <array>

namespace sluice::schema {
namespace {

// Version 1: jobs, attempts, counters.
//
// No `IN (...)` lists in CHECKs or partial-index conditions: SQLite builds an
// ephemeral b-tree for one on every insert and update (it was half the cost
// of a submit); chains of `=` cost nothing.
constexpr std::string_view kV1 = R"sql(
CREATE TABLE counters (
  name  TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT INTO counters(name, value) VALUES ('next_job_seq', 1), ('next_run_seq', 1);

CREATE TABLE jobs (
  seq          INTEGER PRIMARY KEY,          -- never reused (counters.next_job_seq)
  id           TEXT GENERATED ALWAYS AS ('j' || seq) VIRTUAL,
  kind         TEXT    NOT NULL,
  queue        TEXT    NOT NULL DEFAULT 'default',
  priority     INTEGER NOT NULL DEFAULT 0,   -- higher first
  params       BLOB    NOT NULL,             -- msgpack map
  state        TEXT    NOT NULL CHECK (state = 'scheduled' OR state = 'queued' OR
                 state = 'running' OR state = 'succeeded' OR state = 'dead' OR
                 state = 'cancelled' OR state = 'upstream_failed'),
  attempt      INTEGER NOT NULL DEFAULT 0,   -- attempts started so far
  failures     INTEGER NOT NULL DEFAULT 0,   -- attempts counted against max_attempts
  max_attempts INTEGER NOT NULL,
  backoff_ms   INTEGER NOT NULL,
  timeout_ms   INTEGER NOT NULL,             -- 0: none
  run_at_ms    INTEGER NOT NULL,             -- not before this
  created_ms   INTEGER NOT NULL,
  updated_ms   INTEGER NOT NULL,
  finished_ms  INTEGER,                      -- set in terminal states
  idem_key     TEXT,
  last_error   TEXT,
  outputs      BLOB                          -- msgpack map of the succeeding attempt
);
CREATE UNIQUE INDEX jobs_idem_key ON jobs(idem_key) WHERE idem_key IS NOT NULL;
-- Live jobs are exactly the unfinished ones; the broker loads them at start.
CREATE INDEX jobs_live ON jobs(seq) WHERE finished_ms IS NULL;

CREATE TABLE attempts (
  job_seq     INTEGER NOT NULL,
  attempt     INTEGER NOT NULL,
  job_id      TEXT GENERATED ALWAYS AS ('j' || job_seq) VIRTUAL,
  worker      TEXT,
  host        TEXT,
  started_ms  INTEGER NOT NULL,
  finished_ms INTEGER,
  outcome     TEXT CHECK (outcome IS NULL OR outcome = 'succeeded' OR outcome = 'failed' OR
                outcome = 'timed_out' OR outcome = 'lost' OR outcome = 'cancelled' OR
                outcome = 'returned'),
  error       TEXT,
  exit_code   INTEGER,
  stdout_tail TEXT,
  stderr_tail TEXT,
  PRIMARY KEY (job_seq, attempt)
) WITHOUT ROWID;
)sql";

constexpr std::array<std::string_view, 1> kAll = {kV1};

}  // namespace

std::span<const std::string_view> Migrations() { return kAll; }

}  // namespace sluice::schema
