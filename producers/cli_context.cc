#include "producers/cli_context.h"

#include "producers/exit_codes.h"
#include "producers/reply_fields.h"
#include "producers/seconds.h"

namespace sluice::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Code::kOk: return kExitOk;
    case Code::kInvalidArgument: return kExitUsage;
    case Code::kUnavailable: return kExitUnreachable;
    default: return kExitFailed;
  }
}

Result<Client> Context::Connect() const {
  auto ms = ParseSecondsToMs(global.rpc_timeout);
  if (!ms.ok()) return Status::InvalidArgument("--rpc-timeout: " + ms.status().message());
  if (*ms == 0) return Status::InvalidArgument("--rpc-timeout must be more than 0");
  ClientOptions options;
  options.timeout = std::chrono::milliseconds(*ms);
  auto keys = curve::LoadClientKeys(global.curve_key, global.broker_key);
  if (!keys.ok()) return Status::InvalidArgument(keys.status().message());
  options.curve = std::move(*keys);
  return Client::Connect(global.broker, options);
}

int Context::Fail(const Status& status) const {
  err << "sluice: " << status.message() << std::endl;
  return ExitCodeFor(status);
}

int Context::Usage(const std::string& message) const {
  err << "sluice: " << message << std::endl;
  return kExitUsage;
}

void Context::PrintJson(const nlohmann::json& doc) const {
  out << reply::Compact(doc) << std::endl;
}

}  // namespace sluice::cli
