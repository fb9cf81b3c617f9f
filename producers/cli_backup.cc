// backup, restore: snapshots of the state database or the lakehouse in an
// S3-compatible store (schemas/db_backup.h), from the command line. The
// store's credentials and endpoint come from the AWS_* variables.
#include <chrono>
#include <filesystem>

#include "pipeline/lakehouse/lakehouse_db.h"
#include "producers/cli_context.h"
#include "producers/exit_codes.h"
#include "schemas/db_backup.h"
#include "schemas/s3_config.h"
#include "schemas/s3_location.h"

namespace sluice::cli {
namespace {

struct BackupOptions {
  std::string location;
  std::string state;
  std::string lakehouse;
  backup::Retention keep;
  std::string at;
  bool force = false;
  bool list = false;
};

// The database the options name and what it must be; a usage error unless
// exactly one of --state and --lakehouse is given.
Result<std::pair<std::string, backup::Subject>> Target(const BackupOptions& o) {
  if (o.state.empty() == o.lakehouse.empty())
    return Status::InvalidArgument("give one of --state PATH and --lakehouse PATH");
  if (!o.state.empty()) return std::make_pair(o.state, backup::StateSubject());
  return std::make_pair(o.lakehouse, lakehouse::LakehouseSubject());
}

struct Store {
  s3::Location location;
  s3::Config config;
};

Result<Store> OpenStore(const std::string& url) {
  Result<s3::Location> location = s3::ParseLocation(url);
  if (!location.ok()) return location.status();
  Result<s3::Config> config = s3::ConfigFromEnv();
  if (!config.ok()) return config.status();
  return Store{std::move(location).value(), std::move(config).value()};
}

int RunBackup(Context& ctx, const BackupOptions& o) {
  auto target = Target(o);
  if (!target.ok()) return ctx.Usage(target.status().message());
  auto store = OpenStore(o.location);
  if (!store.ok()) return ctx.Usage(store.status().message());
  const auto& [path, subject] = target.value();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return ctx.Fail(Status::NotFound("no database file " + path));
  std::string dir = std::filesystem::path(path).parent_path().string();
  if (dir.empty()) dir = ".";
  s3::Client client(store->config);
  auto report = backup::BackupDatabase(client, store->location, subject, path, dir, o.keep,
                                       std::chrono::system_clock::now());
  if (!report.ok()) return ctx.Fail(report.status());
  if (ctx.global.json) {
    ctx.PrintJson({{"location", store->location.ToString()},
                   {"key", report->key},
                   {"stamp", report->stamp},
                   {"db_bytes", report->db_bytes},
                   {"gz_bytes", report->gz_bytes},
                   {"pruned", report->pruned}});
  } else {
    ctx.out << "backed up " << path << " (" << subject.what << ", " << report->db_bytes << " bytes) to s3://"
            << store->location.bucket << "/" << report->key << " (" << report->gz_bytes << " bytes gzipped)";
    if (!report->pruned.empty()) ctx.out << "; pruned " << report->pruned.size() << " old";
    ctx.out << "\n";
  }
  return kExitOk;
}

int RunRestore(Context& ctx, const BackupOptions& o) {
  auto target = Target(o);
  if (!target.ok()) return ctx.Usage(target.status().message());
  auto store = OpenStore(o.location);
  if (!store.ok()) return ctx.Usage(store.status().message());
  const auto& [path, subject] = target.value();
  s3::Client client(store->config);
  if (o.list) {
    auto stamps = backup::ListSnapshots(client, store->location, subject);
    if (!stamps.ok()) return ctx.Fail(stamps.status());
    if (ctx.global.json) {
      ctx.PrintJson({{"location", store->location.ToString()}, {"subject", subject.name}, {"snapshots", *stamps}});
    } else {
      for (const std::string& s : *stamps) ctx.out << s << "\n";
    }
    return kExitOk;
  }
  backup::RestoreOptions options;
  options.at = o.at;
  options.replace = o.force;
  auto restored = backup::RestoreDatabase(client, store->location, subject, path, options);
  if (!restored.ok()) return ctx.Fail(restored.status());
  if (ctx.global.json) {
    ctx.PrintJson({{"location", store->location.ToString()}, {"subject", subject.name}, {"stamp", *restored},
                   {"path", path}});
  } else {
    ctx.out << "restored " << path << " (" << subject.what << ") from snapshot " << *restored << " at "
            << store->location.ToString() << "\n";
  }
  return kExitOk;
}

void AddTargetOptions(CLI::App* cmd, BackupOptions* o) {
  cmd->add_option("LOCATION", o->location, "s3://bucket/prefix")->required();
  cmd->add_option("--state", o->state, "the broker's state database file");
  cmd->add_option("--lakehouse", o->lakehouse, "the lakehouse file");
}

}  // namespace

void AddBackupCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  auto b = std::make_shared<BackupOptions>();
  CLI::App* backup_cmd = app.add_subcommand("backup", "Snapshot the state database or the lakehouse to S3 now");
  AddTargetOptions(backup_cmd, b.get());
  backup_cmd->add_option("--keep-last", b->keep.keep_last, "then keep the newest N snapshots")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  backup_cmd->add_option("--keep-daily", b->keep.keep_daily, "and the newest of each of the last N days")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  backup_cmd->add_option("--keep-weekly", b->keep.keep_weekly, "and the newest of each of the last N ISO weeks")
      ->check(CLI::Range(0, 100000))
      ->capture_default_str();
  backup_cmd->footer(
      "An online, consistent snapshot (SQLite's backup API from a read-only connection: the broker or "
      "the worker that writes the file keeps running), checked as a restore would check it, gzipped, "
      "uploaded to "
      "LOCATION/{state,lakehouse}/NAME-YYYYMMDDTHHMMSSZ.sqlite.gz; then older snapshots beyond the "
      "keep rules are deleted. Credentials and endpoint: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, "
      "AWS_SESSION_TOKEN, AWS_REGION, AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL.");
  commands->emplace_back(backup_cmd, [&ctx, b] { return RunBackup(ctx, *b); });

  auto r = std::make_shared<BackupOptions>();
  CLI::App* restore_cmd =
      app.add_subcommand("restore", "Restore the state database or the lakehouse from its newest S3 snapshot");
  AddTargetOptions(restore_cmd, r.get());
  restore_cmd->add_option("--at", r->at,
                          "the snapshot whose stamp starts with this (e.g. 20261205T1400 or 20261205): the "
                          "newest such");
  restore_cmd->add_flag("--force", r->force, "replace the file when it exists (stop what uses it first)");
  restore_cmd->add_flag("--list", r->list, "list the snapshots (their stamps, oldest first) instead");
  restore_cmd->footer(
      "The snapshot is downloaded and gunzipped next to PATH, then checked (PRAGMA integrity_check, "
      "sluice's application_id, a schema version this build reads, the expected tables) before "
      "anything is replaced; a snapshot that fails leaves PATH untouched. PATH's old -wal, -shm and "
      "-journal files are removed with it. Refuses to replace an existing file without --force.");
  commands->emplace_back(restore_cmd, [&ctx, r] { return RunRestore(ctx, *r); });
}

}  // namespace sluice::cli
