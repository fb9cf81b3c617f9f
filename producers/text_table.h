// A plain-text table with aligned columns, for `sluice list` and `workers`:
//
//   ID   STATE   KIND
//   j12  queued  extract.http
//
// Columns are left-aligned and separated by two spaces; the last column is
// not padded (it holds free text such as a waiting reason). Cells are kept
// on one line: control characters (newlines, tabs) become spaces.
#pragma once

#include <string>
#include <vector>

namespace sluice {

class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers);

  // A row with fewer cells than headers is padded with empty cells; extra
  // cells are dropped.
  void AddRow(std::vector<std::string> cells);
  std::size_t rows() const { return rows_.size() - 1; }

  // The header line and one line per row, each ending in '\n'.
  std::string Render() const;

 private:
  std::vector<std::vector<std::string>> rows_;  // rows_[0] is the header
};

}  // namespace sluice
