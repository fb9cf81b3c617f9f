// A models folder in a fresh temporary directory, removed afterwards.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace sluice::models::testing {

class ModelsFolder {
 public:
  ModelsFolder() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "sluice-models-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) dir_ = tmpl;
  }
  ~ModelsFolder() {
    std::error_code ec;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
  }
  ModelsFolder(const ModelsFolder&) = delete;
  ModelsFolder& operator=(const ModelsFolder&) = delete;

  // Writes `text` to `rel` (folders created).
  void Write(const std::string& rel, const std::string& text) const {
    std::filesystem::create_directories((dir_ / rel).parent_path());
    std::ofstream(dir_ / rel, std::ios::binary | std::ios::trunc) << text;
  }
  void Remove(const std::string& rel) const { std::filesystem::remove(dir_ / rel); }
  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
};

}  // namespace sluice::models::testing
