// A SQL value as the model unit tests see it: NULL, integer, real or text,
// compared the way a test means it (numbers with a relative tolerance of
// 1e-9, integer 2 equal to real 2.0; text exactly).
#pragma once

#include <cstdint>
#include <string>

#include "schemas/sqlite_db.h"

namespace sluice::models {

struct SqlValue {
  enum class Type { kNull, kInteger, kReal, kText };
  Type type = Type::kNull;
  std::int64_t integer = 0;
  double real = 0;
  std::string text;

  static SqlValue Null() { return {}; }
  static SqlValue Integer(std::int64_t v) { return {Type::kInteger, v, 0, {}}; }
  static SqlValue Real(double v) { return {Type::kReal, 0, v, {}}; }
  static SqlValue Text(std::string v) { return {Type::kText, 0, 0, std::move(v)}; }
  // Column `col` of the current row (blobs read as text).
  static SqlValue FromColumn(const Statement& st, int col);

  // Binds the value as parameter `i` (1-based).
  void Bind(Statement& st, int i) const;
  // TOML-like: NULL, 2, 1.5, "text".
  std::string Render() const;
};

bool Matches(const SqlValue& a, const SqlValue& b);

}  // namespace sluice::models
