#include "pipeline/models/sql_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>

namespace sluice::models {

SqlValue SqlValue::FromColumn(const Statement& st, int col) {
  switch (st.Type(col)) {
    case SQLITE_NULL: return Null();
    case SQLITE_INTEGER: return Integer(st.Int(col));
    case SQLITE_FLOAT: return Real(st.Double(col));
    default: return Text(std::string(st.Text(col)));
  }
}

void SqlValue::Bind(Statement& st, int i) const {
  switch (type) {
    case Type::kNull: st.BindNull(i); break;
    case Type::kInteger: st.Bind(i, integer); break;
    case Type::kReal: st.BindDouble(i, real); break;
    case Type::kText: st.Bind(i, std::string_view(text)); break;
  }
}

std::string SqlValue::Render() const {
  switch (type) {
    case Type::kNull: return "NULL";
    case Type::kInteger: return std::to_string(integer);
    case Type::kReal: {
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, real);
      std::string s(buf, r.ptr);
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";  // 2.0, not 2 (nan/inf left alone)
      return s;
    }
    case Type::kText: {
      std::string out = "\"";
      for (char c : text) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
      }
      return out + "\"";
    }
  }
  return "?";
}

bool Matches(const SqlValue& a, const SqlValue& b) {
  using T = SqlValue::Type;
  if (a.type == T::kNull || b.type == T::kNull) return a.type == b.type;
  if (a.type == T::kText || b.type == T::kText) return a.type == b.type && a.text == b.text;
  if (a.type == T::kInteger && b.type == T::kInteger) return a.integer == b.integer;
  const double x = a.type == T::kInteger ? static_cast<double>(a.integer) : a.real;
  const double y = b.type == T::kInteger ? static_cast<double>(b.integer) : b.real;
  if (x == y) return true;
  return std::fabs(x - y) <= 1e-9 * std::max(std::fabs(x), std::fabs(y));
}

}  // namespace sluice::models
