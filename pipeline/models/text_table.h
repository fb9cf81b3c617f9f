// Plain-text tables for reports: a header row, a rule, left-aligned columns.
#pragma once

#include <string>
#include <vector>

namespace sluice::models {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : header_(std::move(header)) {}
  void AddRow(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Each line ends with '\n'; trailing spaces are trimmed.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace sluice::models
