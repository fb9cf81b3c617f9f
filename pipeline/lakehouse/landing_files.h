// LandingFiles: where raw loading finds landing files and reads them. A
// folder (FolderLandingFiles, the default) or an object store (the worker's
// --landing s3://..., workers/s3_landing_files.h). Both name files by their
// path relative to the landing zone's root, which is what the load ledger
// and `_source_file` record, so a file keeps its identity wherever the zone
// lives.
#pragma once

#include <string>
#include <vector>

#include "schemas/status.h"

namespace sluice::lakehouse {

class LandingFiles {
 public:
  virtual ~LandingFiles() = default;
  // The relative paths `glob` matches (landing_glob.h's rules), sorted
  // bytewise. A missing folder or prefix is no files.
  virtual Result<std::vector<std::string>> Find(const std::string& glob) = 0;
  // A local path where `relative` can be read, valid until the next
  // Fetch() or the object's end.
  virtual Result<std::string> Fetch(const std::string& relative) = 0;
};

class FolderLandingFiles final : public LandingFiles {
 public:
  explicit FolderLandingFiles(std::string landing_dir) : landing_dir_(std::move(landing_dir)) {}
  Result<std::vector<std::string>> Find(const std::string& glob) override;
  Result<std::string> Fetch(const std::string& relative) override { return landing_dir_ + "/" + relative; }

 private:
  std::string landing_dir_;
};

}  // namespace sluice::lakehouse
