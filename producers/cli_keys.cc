// keygen: CURVE key pairs for brokers, workers and clients.
#include <filesystem>
#include <system_error>

#include "producers/cli_context.h"
#include "producers/exit_codes.h"
#include "schemas/curve_cert.h"

namespace sluice::cli {
namespace {

struct KeygenOptions {
  std::string name;
  std::string out = ".";
};

int RunKeygen(Context& ctx, const KeygenOptions& o) {
  std::error_code ec;
  std::filesystem::create_directories(o.out, ec);
  if (ec) return ctx.Fail(Status::IOError("cannot create " + o.out + ": " + ec.message()));
  std::string key_path, pub_path;
  Status s = curve::WriteNewCert(o.out, o.name, &key_path, &pub_path);
  if (s.code() == Code::kInvalidArgument) return ctx.Usage(s.message());
  if (!s.ok()) return ctx.Fail(s);
  auto pub = curve::ReadPublicKey(pub_path);
  if (!pub.ok()) return ctx.Fail(pub.status());
  if (ctx.global.json) {
    ctx.PrintJson({{"name", o.name}, {"key", key_path}, {"pub", pub_path}, {"public_key", *pub}});
  } else {
    ctx.out << "wrote " << key_path << " (secret, mode 0600) and " << pub_path << "\n"
            << "public key " << *pub << "\n";
  }
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  auto o = std::make_shared<KeygenOptions>();
  CLI::App* keygen = app.add_subcommand("keygen", "Generate a CURVE key pair: NAME.key and NAME.pub");
  keygen->add_option("NAME", o->name, "The key's name: the peer's name once its .pub is authorized")->required();
  keygen->add_option("--out", o->out, "Folder to write the two files in")->capture_default_str();
  keygen->footer(
      "Writes DIR/NAME.key (public and secret key, mode 0600: give it to the process that owns it, "
      "as --curve-key) and DIR/NAME.pub (the public key: the broker's goes to its clients and workers "
      "as --broker-key; a peer's goes to the broker's --authorized folder, under workers/, clients/ "
      "or admins/). Both are ZeroMQ (CZMQ) certificate files. Refuses to overwrite either file.");
  commands->emplace_back(keygen, [&ctx, o] { return RunKeygen(ctx, *o); });
}

}  // namespace sluice::cli
