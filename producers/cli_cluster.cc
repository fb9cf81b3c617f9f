// Commands about the cluster: workers, stats.
#include "producers/cli_context.h"
#include "producers/cluster_format.h"
#include "producers/exit_codes.h"
#include "producers/time_format.h"

namespace sluice::cli {
namespace {

using json = nlohmann::json;

int RunWorkers(Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto workers = client->Workers();
  if (!workers.ok()) return ctx.Fail(workers.status());
  if (ctx.global.json)
    ctx.PrintJson({{"workers", proto::ToJson(*workers)}});
  else
    ctx.out << FormatWorkers(proto::ToJson(*workers), NowUnixMs());
  return kExitOk;
}

int RunStats(Context& ctx) {
  auto client = ctx.Connect();
  if (!client.ok()) return ctx.Fail(client.status());
  auto stats = client->Stats();
  if (!stats.ok()) return ctx.Fail(stats.status());
  if (ctx.global.json)
    ctx.PrintJson({{"stats", proto::ToJson(*stats)}});
  else
    ctx.out << FormatStats(proto::ToJson(*stats));
  return kExitOk;
}

}  // namespace

void AddClusterCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  CLI::App* workers = app.add_subcommand("workers", "List connected workers");
  workers->footer("--json prints {\"workers\": [worker, ...]} as the broker reports them.");
  commands->emplace_back(workers, [&ctx] { return RunWorkers(ctx); });

  CLI::App* stats = app.add_subcommand("stats", "Show the broker's counters");
  stats->footer("--json prints {\"stats\": {...}} as the broker reports them.");
  commands->emplace_back(stats, [&ctx] { return RunStats(ctx); });
}

}  // namespace sluice::cli
