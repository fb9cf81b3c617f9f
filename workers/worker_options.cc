#include "workers/worker_options.h"

#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <random>

#include <zmq.h>

#include "schemas/msgpack_reader.h"
#include "schemas/name_rule.h"
#include "schemas/protocol.h"
#include "schemas/s3_location.h"
#include "workers/handler.h"
#include "workers/secret_allow_list.h"

namespace sluice::worker {

std::string DefaultWorkerId() {
  char host[HOST_NAME_MAX + 1] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "worker");
  std::random_device entropy;
  char tail[32];
  std::snprintf(tail, sizeof tail, "-%d-%06x", static_cast<int>(::getpid()), entropy() & 0xffffffu);
  std::string h(host);
  for (char& c : h)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '_';
  const std::size_t room = proto::kMaxIdBytes - std::string_view(tail).size();
  if (h.size() > room) h.resize(room);
  return h + tail;
}

Status ValidateOptions(const WorkerOptions& o) {
  if (o.slots < 1 || o.slots > proto::kMaxSlots)
    return Status::InvalidArgument("--slots: must be 1-" + std::to_string(proto::kMaxSlots));
  if (o.prefetch > proto::kMaxSlots)
    return Status::InvalidArgument("--prefetch: must be 0-" + std::to_string(proto::kMaxSlots));
  if (o.queues.empty()) return Status::InvalidArgument("--queues: at least one queue is needed");
  if (o.queues.size() > proto::kMaxListItems)
    return Status::InvalidArgument("--queues: at most " + std::to_string(proto::kMaxListItems) + " queues");
  for (const std::string& q : o.queues)
    if (!proto::IsValidName(q))
      return Status::InvalidArgument("--queues: '" + q + "' must be " + std::string(proto::kNameRuleText));
  if (!o.worker_id.empty() && !proto::IsPrintable(o.worker_id, proto::kMaxIdBytes))
    return Status::InvalidArgument("--worker-id: must be 1-64 bytes without control characters");
  if (o.heartbeat.count() < 10 || o.heartbeat.count() > 3600000)
    return Status::InvalidArgument("--heartbeat-ms: must be 10-3600000");
  if (o.grace.count() < 0) return Status::InvalidArgument("--grace: must not be negative");
  if (o.broker.empty()) return Status::InvalidArgument("--broker: must not be empty");
  if (o.landing.empty()) return Status::InvalidArgument("--landing: must not be empty");
  if (o.lakehouse.empty()) return Status::InvalidArgument("--lakehouse: must not be empty");
  if (o.serving.empty()) return Status::InvalidArgument("--serving: must not be empty");
  if (o.serving == o.lakehouse)
    return Status::InvalidArgument("--serving: must not be the lakehouse file");
  if (o.landing.find('\0') != std::string::npos)
    return Status::InvalidArgument("--landing: must not contain a NUL byte");
  if (o.models_roots.empty()) return Status::InvalidArgument("--models-root: at least one folder is needed");
  for (const std::string& root : o.models_roots)
    if (root.empty() || root.find('\0') != std::string::npos)
      return Status::InvalidArgument("--models-root: a folder must be a non-empty path");
  if (auto list = SecretAllowList::Parse(o.secret_env); !list.ok()) return list.status();
  return Status::Ok();
}

Status LoadCurveKeys(WorkerOptions* o) {
  auto keys = curve::LoadClientKeys(o->curve_key_file, o->broker_key_file);
  if (!keys.ok()) return keys.status();
  if (!keys->server_z85.empty() && !zmq_has("curve"))
    return Status::InvalidArgument("--curve-key: this libzmq was built without CURVE support");
  o->curve = std::move(keys.value());
  return Status::Ok();
}

Status LoadObjectStore(WorkerOptions* o) {
  const bool landing = s3::IsS3Url(o->landing);
  if (!landing && o->backup.empty()) return Status::Ok();
  if (landing)
    if (Result<s3::Location> location = s3::ParseLocation(o->landing); !location.ok())
      return Status::InvalidArgument("--landing: " + location.status().message());
  if (!o->backup.empty())
    if (Result<s3::Location> location = s3::ParseLocation(o->backup); !location.ok())
      return Status::InvalidArgument("--backup: " + location.status().message());
  Result<s3::Config> config = s3::ConfigFromEnv();
  if (!config.ok())
    return Status::InvalidArgument((landing ? "--landing " + o->landing : "--backup " + o->backup) + ": " +
                                   config.status().message());
  o->store = std::make_shared<const s3::Config>(std::move(config).value());
  return Status::Ok();
}

HandlerSettings SettingsFrom(const WorkerOptions& o) {
  HandlerSettings s;
  s.landing_dir = o.landing;
  s.store = s3::IsS3Url(o.landing) ? o.store : nullptr;
  if (!o.backup.empty() && o.store) {
    auto location = s3::ParseLocation(o.backup);
    if (location.ok())
      s.backup = std::make_shared<const HandlerSettings::BackupTarget>(
          HandlerSettings::BackupTarget{std::move(location).value(), *o.store});
  }
  s.spool_dir = o.spool_dir;
  if (s.spool_dir.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    s.spool_dir = tmp != nullptr && tmp[0] == '/' ? tmp : "/tmp";
  }
  s.lakehouse_path = o.lakehouse;
  s.serving_path = o.serving;
  s.models_roots = o.models_roots;
  auto list = SecretAllowList::Parse(o.secret_env);
  s.secret_env = list.ok() ? std::move(list.value()) : SecretAllowList::Parse({}).value();
  s.secret_in_url = o.secret_in_url;
  s.extract_max_bytes = o.extract_max_bytes;
  return s;
}

}  // namespace sluice::worker
