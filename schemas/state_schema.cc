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

// Version 2 (extract stage): concurrency keys on jobs; one row per extract
// run (the seeds' `extraction_runs`, times in SQLite's own UTC text format
// so that datetime('now','-7 days') comparisons are exact); the conditional
// request cursor per (source, URL).
constexpr std::string_view kV2 = R"sql(
ALTER TABLE jobs ADD COLUMN concurrency_key TEXT;
ALTER TABLE jobs ADD COLUMN concurrency_limit INTEGER NOT NULL DEFAULT 0;

CREATE TABLE extraction_runs (
  run_id        INTEGER PRIMARY KEY,
  extractor     TEXT    NOT NULL,
  started_at    TEXT    NOT NULL,              -- 'YYYY-MM-DD HH:MM:SS', UTC
  finished_at   TEXT,
  status        TEXT    NOT NULL CHECK (status = 'running' OR status = 'success' OR status = 'failed'),
  files_written INTEGER NOT NULL DEFAULT 0,
  files_skipped INTEGER NOT NULL DEFAULT 0,
  bytes_written INTEGER NOT NULL DEFAULT 0,
  cursor_value  TEXT,
  error_message TEXT,
  job_id        TEXT    NOT NULL,              -- the extract job and its attempt
  attempt       INTEGER NOT NULL,
  source        TEXT,
  url           TEXT,                          -- as fetched; ${env:...} left unresolved
  UNIQUE (job_id, attempt)
);
CREATE INDEX extraction_runs_started ON extraction_runs(started_at);

CREATE TABLE extract_cursors (
  source        TEXT NOT NULL,
  url           TEXT NOT NULL,
  etag          TEXT,
  last_modified TEXT,
  updated_at    TEXT NOT NULL,
  PRIMARY KEY (source, url)
) WITHOUT ROWID;
)sql";

// Version 3 (workflows): runs of registry workflows and their stages; every
// cron fire, recorded in the same transaction as the run it starts (the
// primary key makes a second fire of one slot impossible); paused schedules.
constexpr std::string_view kV3 = R"sql(
CREATE TABLE runs (
  seq          INTEGER PRIMARY KEY,          -- never reused (counters.next_run_seq)
  id           TEXT GENERATED ALWAYS AS ('r' || seq) VIRTUAL,
  workflow     TEXT    NOT NULL,
  state        TEXT    NOT NULL CHECK (state = 'queued' OR state = 'running' OR state = 'succeeded'
                                       OR state = 'failed' OR state = 'cancelled'),
  trigger      TEXT    NOT NULL,             -- 'manual' | 'cron'
  logical_date TEXT    NOT NULL,             -- YYYY-MM-DD
  slot_ms      INTEGER,                      -- cron runs: the slot
  params       TEXT    NOT NULL,             -- JSON {str: str}: the run's variables
  definition   TEXT    NOT NULL,             -- JSON: the workflow's stages when the run started
  created_ms   INTEGER NOT NULL,
  started_ms   INTEGER,
  finished_ms  INTEGER
);
CREATE INDEX runs_workflow ON runs(workflow, seq);

CREATE TABLE run_stages (
  run_seq      INTEGER NOT NULL,
  stage        TEXT    NOT NULL,
  state        TEXT    NOT NULL,             -- pending | submitted | succeeded | dead | cancelled | upstream_failed
  job_seq      INTEGER,                      -- its job, once submitted
  PRIMARY KEY (run_seq, stage)
) WITHOUT ROWID;
CREATE INDEX run_stages_job ON run_stages(job_seq);

CREATE TABLE cron_fires (
  workflow     TEXT    NOT NULL,
  slot_ms      INTEGER NOT NULL,
  fired_ms     INTEGER NOT NULL,
  run_seq      INTEGER,
  PRIMARY KEY (workflow, slot_ms)
) WITHOUT ROWID;

CREATE TABLE workflow_state (
  workflow     TEXT    PRIMARY KEY,
  paused       INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
)sql";

// Version 4 (no DDL): from this version on a dispatch is written before its
// JOB is sent (jobs.state 'running', jobs.attempt the dispatched attempt), so
// a restarted broker knows every attempt that may be running and never runs
// one twice. A database of an earlier version may hold jobs that were
// running while they read 'queued': the broker holds their dispatch for a
// while after opening it (JobStore::opened_version). The marker row says
// which rule the data follows.
constexpr std::string_view kV4 = R"sql(
INSERT OR IGNORE INTO counters(name, value) VALUES ('dispatch_written', 1);
)sql";

// Version 5 (metrics): the broker's Prometheus counters, which survive
// restarts and retention (broker/metric_counters.h). `labels` is the
// rendered label set (k="v",...), '' for none.
constexpr std::string_view kV5 = R"sql(
CREATE TABLE metric_counters (
  name   TEXT NOT NULL,
  labels TEXT NOT NULL,
  value  REAL NOT NULL,
  PRIMARY KEY (name, labels)
) WITHOUT ROWID;
)sql";

// Version 6 (status page): the dead jobs, newest first, without a scan of
// every job (LIST state=dead, /api/overview). A partial index: only dead
// rows are in it, so the jobs that succeed cost it nothing.
constexpr std::string_view kV6 = R"sql(
CREATE INDEX jobs_dead ON jobs(seq) WHERE state = 'dead';
)sql";

// Version 7 (extractions of any kind, PROTOCOL.md §5.9): a cursor may be a
// string an extractor reported (NULL for extract.http's validators).
constexpr std::string_view kV7 = R"sql(
ALTER TABLE extract_cursors ADD COLUMN cursor TEXT;
)sql";

constexpr std::array<std::string_view, 7> kAll = {kV1, kV2, kV3, kV4, kV5, kV6, kV7};

}  // namespace

std::span<const std::string_view> Migrations() { return kAll; }

}  // namespace sluice::schema
