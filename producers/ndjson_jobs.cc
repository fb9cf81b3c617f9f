#include "producers/ndjson_jobs.h"

#include <string>

#include <nlohmann/json.hpp>

#include "producers/job_spec.h"

namespace sluice {

Result<std::vector<proto::JobSpec>> ReadJobSpecsNdjson(std::istream& in) {
  std::vector<proto::JobSpec> specs;
  std::string line;
  std::size_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument("line " + std::to_string(number) + ": " + why);
    };
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) return bad("not valid JSON");
    auto spec = JobSpecFromJson(j);
    if (!spec.ok()) return bad(spec.status().message());
    Status s = ValidateJobSpec(*spec);
    if (!s.ok()) return bad(s.message());
    specs.push_back(std::move(spec).value());
  }
  if (in.bad()) return Status::IOError("reading the job specs failed");
  return specs;
}

}  // namespace sluice
