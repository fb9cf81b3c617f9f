// Commands of the extract stage: `sluice extractions` (the recent rows of
// the broker's extraction_runs) and `sluice backfill` (one extract.http job
// per period of a range).
#include <memory>

#include "pipeline/period.h"
#include "producers/cli_context.h"
#include "producers/exit_codes.h"
#include "producers/job_spec.h"
#include "producers/param_flags.h"
#include "producers/text_table.h"
#include "schemas/job_kinds.h"
#include "schemas/job_state.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

std::string Cell(const json& row, const char* key) {
  const json& v = row.contains(key) ? row.at(key) : json();
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

int RunExtractions(Context& ctx, const std::string& source, std::int64_t limit) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto rows = client->Extractions(source, limit);
  if (!rows.ok()) return ctx.Fail(rows.status());
  const json runs = proto::ToJson(*rows);
  if (ctx.global.json) {
    ctx.PrintJson({{"extractions", runs}});
    return kExitOk;
  }
  TextTable t({"RUN", "EXTRACTOR", "STARTED (UTC)", "FINISHED", "STATUS", "WRITTEN", "SKIPPED",
               "BYTES", "JOB", "CURSOR / ERROR"});
  for (const json& r : runs) {
    std::string tail = Cell(r, "status") == "failed" ? Cell(r, "error_message") : Cell(r, "cursor_value");
    t.AddRow({Cell(r, "run_id"), Cell(r, "extractor"), Cell(r, "started_at"), Cell(r, "finished_at"),
              Cell(r, "status"), Cell(r, "files_written"), Cell(r, "files_skipped"),
              Cell(r, "bytes_written"), Cell(r, "job_id") + "/" + Cell(r, "attempt"), tail});
  }
  ctx.out << t.Render();
  return kExitOk;
}

struct BackfillOptions {
  std::string source, url, from, to, period = "month", ext, queue = "default";
  std::vector<std::string> params, param_jsons;
  std::uint32_t max_attempts = 0;
};

int RunBackfill(Context& ctx, const BackfillOptions& o) {
  auto unit = ParsePeriodUnit(o.period);
  if (!unit) return ctx.Usage("--period must be day, month or year");
  auto from = ParsePeriod(o.from, *unit), to = ParsePeriod(o.to, *unit);
  if (!from) return ctx.Usage("--from '" + o.from + "' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)");
  if (!to) return ctx.Usage("--to '" + o.to + "' is not a date (YYYY, YYYY-MM or YYYY-MM-DD)");
  if (FormatPeriod(*to) < FormatPeriod(*from)) return ctx.Usage("--to is before --from");
  auto extra = ParamsFromFlags(o.params, o.param_jsons);
  if (!extra.ok()) return ctx.Usage(extra.status().message());
  std::vector<proto::JobSpec> specs;
  for (Period p = *from; FormatPeriod(p) <= FormatPeriod(*to); p = Step(p, 1)) {
    if (specs.size() >= 100000) return ctx.Usage("more than 100,000 periods in the range");
    json params = *extra;
    params["source"] = o.source;
    params["url"] = o.url;
    params["date"] = FormatPeriod(p);
    params["period"] = o.period;
    if (!o.ext.empty()) params["ext"] = o.ext;
    proto::JobSpec spec;
    spec.kind = proto::kind::kExtractHttp;
    spec.queue = o.queue;
    spec.max_attempts = o.max_attempts;
    auto packed = ParamsToMsgpack(params);
    if (!packed.ok()) return ctx.Usage(packed.status().message());
    spec.params = *packed;
    Status valid = ValidateJobSpec(spec);
    if (!valid.ok()) return ctx.Usage("invalid job: " + valid.message());
    specs.push_back(std::move(spec));
  }
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto submitted = client->SubmitChecked(specs);
  if (!submitted.ok()) return ctx.Fail(submitted.status());
  if (ctx.global.json) {
    json jobs = json::array();
    Period p = *from;
    for (const auto& j : *submitted) {
      jobs.push_back({{"id", j.id}, {"state", std::string(JobStateName(j.state))},
                      {"created", j.created}, {"date", FormatPeriod(p)}});
      p = Step(p, 1);
    }
    ctx.PrintJson({{"jobs", std::move(jobs)}});
  } else {
    std::string lines;
    for (const auto& j : *submitted) lines += j.id + '\n';
    ctx.out << lines;
  }
  return kExitOk;
}

}  // namespace

void AddExtractCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  auto source = std::make_shared<std::string>();
  auto limit = std::make_shared<std::int64_t>(50);
  CLI::App* ex = app.add_subcommand("extractions", "Show recent extract runs (extraction_runs)");
  ex->add_option("--source", *source, "Only runs of this source");
  ex->add_option("--limit", *limit, "At most this many runs, newest first")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  ex->footer("--json prints {\"extractions\": [run, ...]} (PROTOCOL.md §6.8).");
  commands->emplace_back(ex, [&ctx, source, limit] { return RunExtractions(ctx, *source, *limit); });

  auto o = std::make_shared<BackfillOptions>();
  CLI::App* bf = app.add_subcommand(
      "backfill", "Submit one extract.http job per period in a range; prints their ids");
  bf->add_option("--source", o->source, "The landing sub-folder (and extractor name)")->required();
  bf->add_option("--url", o->url,
                 "URL template: {year} {month} {day} {date} become each period's values")
      ->required();
  bf->add_option("--from", o->from, "First period: YYYY, YYYY-MM or YYYY-MM-DD")->required();
  bf->add_option("--to", o->to, "Last period, inclusive")->required();
  bf->add_option("--period", o->period, "day, month or year")->capture_default_str();
  bf->add_option("--ext", o->ext, "Landing file extension (default: from the URL)");
  bf->add_option("--param", o->params, "Another string parameter, KEY=VALUE (repeatable)");
  bf->add_option("--param-json", o->param_jsons, "Another parameter, KEY=JSON (repeatable)");
  bf->add_option("--queue", o->queue, "The queue")->capture_default_str();
  // At most 1000: checked with each job (ValidateJobSpec); 0 would be the default.
  bf->add_option("--max-attempts", o->max_attempts, "Attempts per job (default: the broker's)")
      ->check(CLI::PositiveNumber);
  bf->footer(
      "Jobs of one source share the concurrency key extract.http:<source> (limit 4, or\n"
      "--param-json concurrency_limit=N), so a backfill stays polite to the origin.\n"
      "--json prints {\"jobs\": [{\"id\", \"state\", \"created\", \"date\"}, ...]}.");
  commands->emplace_back(bf, [&ctx, o] { return RunBackfill(ctx, *o); });
}

}  // namespace sluice::cli
