#include "producers/cli.h"

#include <exception>

#include "producers/cli_context.h"
#include "producers/cli_cron.h"
#include "producers/cli_models.h"
#include "producers/cli_runs.h"
#include "producers/exit_codes.h"

namespace sluice::cli {

int Run(int argc, const char* const* argv, std::istream& in, std::ostream& out, std::ostream& err) {
  Context ctx(in, out, err);
  CLI::App app{"sluice: submit and query jobs and workflow runs on a sluice broker", "sluice"};
  // Global options work before or after the subcommand.
  app.fallthrough();
  // At most one; none is reported below (CLI11 would call an unknown
  // command "a subcommand is required" instead of naming it).
  app.require_subcommand(0, 1);
  app.footer(kExitCodesHelp);
  app.set_version_flag("--version", SLUICE_VERSION);
  app.add_option("--broker", ctx.global.broker, "The broker's endpoint")
      ->envname("SLUICE_BROKER")
      ->capture_default_str();
  app.add_flag("--json", ctx.global.json, "Print one JSON document on stdout");
  app.add_option("--rpc-timeout", ctx.global.rpc_timeout,
                 "Seconds to wait for the broker's answer to each request")
      ->envname("SLUICE_RPC_TIMEOUT")
      ->type_name("S")
      ->capture_default_str();
  app.add_option("--curve-key", ctx.global.curve_key,
                 "This client's CURVE key (NAME.key from `sluice keygen`), for a broker with "
                 "--curve-key; needs --broker-key")
      ->envname("SLUICE_CURVE_KEY")
      ->type_name("FILE");
  app.add_option("--broker-key", ctx.global.broker_key, "The broker's public key (its NAME.pub)")
      ->envname("SLUICE_BROKER_KEY")
      ->type_name("FILE");

  CommandList commands;
  AddSubmitCommands(app, ctx, &commands);
  AddJobCommands(app, ctx, &commands);
  AddClusterCommands(app, ctx, &commands);
  AddExtractCommands(app, ctx, &commands);
  AddKeyCommands(app, ctx, &commands);
  AddBackupCommands(app, ctx, &commands);
  AddCronCommands(app, ctx, &commands);
  AddRunCommands(app, ctx, &commands);  // after AddJobCommands: extends status and cancel
  AddModelCommands(app, ctx, &commands);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e, out, err);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e, out, err);
  } catch (const CLI::ParseError& e) {
    // One line, and where to look. (CLI11's own report takes two.)
    std::string where = "sluice";
    for (const CLI::App* sub : app.get_subcommands()) where += " " + sub->get_name();
    return ctx.Usage(std::string(e.what()) + " (see '" + where + " --help')");
  }

  try {
    for (const auto& [sub, run] : commands)
      if (sub->parsed()) return run();
  } catch (const std::exception& e) {
    // Nothing below is meant to throw; if something does, say so plainly.
    err << "sluice: internal error: " << e.what() << std::endl;
    return kExitFailed;
  }
  return ctx.Usage("no command given (see 'sluice --help')");
}

}  // namespace sluice::cli
