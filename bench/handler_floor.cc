#include "bench/handler_floor.h"

#include <msgpack.hpp>

#include <string>
#include <vector>

#include "bench/parallel_rate.h"
#include "workers/builtin_handlers.h"
#include "workers/cancel_token.h"
#include "workers/event_log.h"
#include "workers/handler.h"

namespace sluice::bench {
namespace {

// The params the broker sends for the bench's first-run jobs: url, source,
// date (no cursor: nothing was fetched before).
std::string Params(const std::string& url, const std::string& source, const std::string& date) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(3);
  pk.pack("url"), pk.pack(url);
  pk.pack("source"), pk.pack(source);
  pk.pack("date"), pk.pack(date);
  return std::string(buffer.data(), buffer.size());
}

// outputs.files_written of a RESULT (0 when absent or unreadable).
std::uint64_t FilesWritten(const std::string& outputs) {
  try {
    msgpack::object_handle h = msgpack::unpack(outputs.data(), outputs.size());
    const msgpack::object& o = h.get();
    if (o.type != msgpack::type::MAP) return 0;
    for (const auto& kv : o.via.map)
      if (kv.key.type == msgpack::type::STR && kv.key.as<std::string>() == "files_written" &&
          kv.val.type == msgpack::type::POSITIVE_INTEGER)
        return kv.val.via.u64;
  } catch (const std::exception&) {
  }
  return 0;
}

}  // namespace

double MeasureHandlerFloor(const std::string& landing_dir, const std::vector<std::string>& urls,
                           const std::string& source, const std::string& date, int threads) {
  worker::HandlerSettings settings;
  settings.landing_dir = landing_dir;
  const worker::EventLog log("bench-handler-floor");
  std::vector<std::string> params;
  params.reserve(urls.size());
  for (const std::string& url : urls) params.push_back(Params(url, source, date));
  auto fetch = [&](int i) -> std::string {
    const std::string& packed = params[static_cast<std::size_t>(i)];
    msgpack::object_handle h = msgpack::unpack(packed.data(), packed.size());
    const std::string job = "floor-" + std::to_string(i);
    const worker::JobContext ctx{job, 1, "extract.http", h.get(), 0, log, settings};
    worker::CancelToken cancel;
    proto::JobResult result;
    result.job = job;
    result.attempt = 1;
    worker::RunExtractHttp(ctx, cancel, &result);
    const std::string& url = urls[static_cast<std::size_t>(i)];
    if (result.outcome != Outcome::kSucceeded) return url + ": " + result.error;
    if (FilesWritten(result.outputs) != 1) return url + ": no file written";
    return {};
  };
  return ParallelRate(static_cast<int>(urls.size()), threads, fetch, "the handler floor");
}

}  // namespace sluice::bench
