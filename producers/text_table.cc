#include "producers/text_table.h"

#include <algorithm>

namespace sluice {
namespace {

// Columns a UTF-8 string takes on a terminal, counting one per code point
// (good enough for ids, names and messages).
std::size_t DisplayWidth(const std::string& s) {
  return static_cast<std::size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

std::string OneLine(std::string s) {
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  return s;
}

}  // namespace

TextTable::TextTable(std::vector<std::string> headers) { rows_.push_back(std::move(headers)); }

void TextTable::AddRow(std::vector<std::string> cells) {
  cells.resize(rows_[0].size());
  for (auto& c : cells) c = OneLine(std::move(c));
  rows_.push_back(std::move(cells));
}

std::string TextTable::Render() const {
  const std::size_t n = rows_[0].size();
  std::vector<std::size_t> width(n, 0);
  for (const auto& row : rows_)
    for (std::size_t i = 0; i < n; ++i) width[i] = std::max(width[i], DisplayWidth(row[i]));
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < n; ++i) {
      line += row[i];
      if (i + 1 < n) line.append(width[i] - DisplayWidth(row[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace sluice
