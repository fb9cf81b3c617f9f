// `sluice submit` (one job from flags) and `sluice submit-many` (NDJSON on
// stdin, for scripts).
#include <memory>

#include "producers/cli_context.h"
#include "producers/exit_codes.h"
#include "producers/job_spec.h"
#include "producers/ndjson_jobs.h"
#include "producers/param_flags.h"
#include "producers/seconds.h"
#include "schemas/job_state.h"
#include "schemas/protocol.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

struct SubmitOptions {
  std::string kind;
  std::vector<std::string> params;
  std::vector<std::string> param_jsons;
  std::string queue = "default";
  std::int64_t priority = 0;
  std::uint32_t max_attempts = 0;  // 0: broker default
  std::string backoff;             // seconds; empty: broker default
  std::string timeout;             // seconds; empty: broker default
  std::string delay;               // seconds; empty: none
  std::string key;
};

json SubmittedToJson(const proto::SubmittedJob& j) {
  return {{"id", j.id}, {"state", std::string(JobStateName(j.state))}, {"created", j.created}};
}

// A seconds flag into *_ms. `positive`: 0 is refused, because 0 in a SUBMIT
// means "the broker's default", not "none".
Status SecondsFlag(const char* flag, const std::string& text, bool positive, std::uint64_t* ms) {
  if (text.empty()) return Status::Ok();
  auto v = ParseSecondsToMs(text);
  if (!v.ok()) return Status::InvalidArgument(std::string(flag) + ": " + v.status().message());
  if (positive && *v == 0)
    return Status::InvalidArgument(std::string(flag) + " must be at least 0.001 seconds");
  *ms = *v;
  return Status::Ok();
}

Result<proto::JobSpec> SpecFromFlags(const SubmitOptions& o) {
  proto::JobSpec spec;
  spec.kind = o.kind;
  auto params = ParamsFromFlags(o.params, o.param_jsons);
  if (!params.ok()) return params.status();
  spec.params = ParamsToMsgpack(*params).value();
  spec.queue = o.queue;
  spec.priority = o.priority;
  spec.max_attempts = o.max_attempts;
  spec.key = o.key;
  Status s = SecondsFlag("--backoff", o.backoff, true, &spec.backoff_ms);
  if (s.ok()) s = SecondsFlag("--timeout", o.timeout, true, &spec.timeout_ms);
  if (s.ok()) s = SecondsFlag("--delay", o.delay, false, &spec.delay_ms);
  if (!s.ok()) return s;
  s = ValidateJobSpec(spec);
  if (!s.ok()) return Status::InvalidArgument("invalid job: " + s.message());
  return spec;
}

int RunSubmit(Context& ctx, const SubmitOptions& o) {
  auto spec = SpecFromFlags(o);
  if (!spec.ok()) return ctx.Usage(spec.status().message());
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto submitted = client->SubmitChecked({*spec});
  if (!submitted.ok()) return ctx.Fail(submitted.status());
  const auto& job = submitted->at(0);
  if (ctx.global.json)
    ctx.PrintJson(SubmittedToJson(job));
  else
    ctx.out << job.id << '\n';
  return kExitOk;
}

int RunSubmitMany(Context& ctx) {
  auto specs = ReadJobSpecsNdjson(ctx.in);
  if (!specs.ok()) return ctx.Usage("submit-many: " + specs.status().message());
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto submitted = client->SubmitChecked(*specs);
  if (!submitted.ok()) return ctx.Fail(submitted.status());
  if (ctx.global.json) {
    json jobs = json::array();
    for (const auto& j : *submitted) jobs.push_back(SubmittedToJson(j));
    ctx.PrintJson({{"jobs", std::move(jobs)}});
  } else {
    std::string lines;
    for (const auto& j : *submitted) lines += j.id + '\n';
    ctx.out << lines;
  }
  ctx.out.flush();
  return kExitOk;
}

}  // namespace

void AddSubmitCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  auto o = std::make_shared<SubmitOptions>();
  CLI::App* submit = app.add_subcommand("submit", "Submit one job; prints its id");
  submit->footer(
      "Seconds accept fractions (0.5). Defaults for --max-attempts, --backoff and --timeout\n"
      "are the broker's. With --key, a job with the same key is not created again: its id is\n"
      "printed (and \"created\": false with --json).\n"
      "--json prints {\"id\": ..., \"state\": ..., \"created\": ...}.");
  submit->add_option("kind", o->kind, "The job kind, e.g. extract.http")->required();
  submit->add_option("--param", o->params, "A string parameter, KEY=VALUE (repeatable)")
      ->allow_extra_args(false)
      ->type_name("K=V");
  submit
      ->add_option("--param-json", o->param_jsons,
                   "A parameter with any JSON value, KEY=JSON (repeatable), e.g. "
                   "headers='{\"Accept\":\"text/csv\"}'")
      ->allow_extra_args(false)
      ->type_name("K=JSON");
  submit->add_option("--queue", o->queue, "The queue")->capture_default_str();
  // Ranges are checked once, with the job (SpecFromFlags: ValidateJobSpec);
  // a flag checks only what a JobSpec cannot tell apart (0 is "the broker's
  // default" there).
  submit
      ->add_option("--priority", o->priority,
                   "Higher runs first, " + std::to_string(proto::kMinPriority) + " to " +
                       std::to_string(proto::kMaxPriority))
      ->capture_default_str();
  submit
      ->add_option("--max-attempts", o->max_attempts,
                   "Attempts before the job is dead, at most " + std::to_string(proto::kMaxAttempts))
      ->check(CLI::PositiveNumber);
  submit->add_option("--backoff", o->backoff, "Base retry delay in seconds")->type_name("S");
  submit->add_option("--timeout", o->timeout, "Time limit of one attempt, in seconds")->type_name("S");
  submit->add_option("--delay", o->delay, "Run no earlier than this many seconds from now")->type_name("S");
  submit->add_option("--key", o->key, "Idempotency key (at most 256 bytes)");
  commands->emplace_back(submit, [&ctx, o] { return RunSubmit(ctx, *o); });

  CLI::App* many = app.add_subcommand(
      "submit-many", "Submit jobs read from stdin as NDJSON; prints one id per line");
  many->footer(
      "Each line is one JSON object with the protocol's field names:\n"
      "  {\"kind\": \"exec\", \"params\": {...}, \"queue\": \"default\", \"priority\": 0,\n"
      "   \"max_attempts\": 3, \"backoff_ms\": 500, \"timeout_ms\": 60000, \"delay_ms\": 0,\n"
      "   \"run_at_ms\": 0, \"key\": \"...\"}\n"
      "Only kind is required; blank lines are skipped. Every line is checked before anything\n"
      "is sent: a bad line fails the command (exit 2) naming its line number, and nothing is\n"
      "submitted. Jobs go in batches of up to 10,000 per message.\n"
      "--json prints {\"jobs\": [{\"id\": ..., \"state\": ..., \"created\": ...}, ...]}.");
  commands->emplace_back(many, [&ctx] { return RunSubmitMany(ctx); });
}

}  // namespace sluice::cli
