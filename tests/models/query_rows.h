// The rows of a query as "a|b|c" strings (NULL as "NULL"), for assertions.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "schemas/sqlite_db.h"

namespace sluice::models::testing {

inline std::vector<std::string> QueryRows(Database& db, const std::string& sql) {
  std::vector<std::string> out;
  auto st = db.Prepare(sql);
  EXPECT_TRUE(st.ok()) << st.status().message();
  if (!st.ok()) return out;
  while (st->Step() == SQLITE_ROW) {
    std::string row;
    for (int c = 0; c < st->columns(); ++c)
      row += (c ? "|" : "") + (st->IsNull(c) ? std::string("NULL") : std::string(st->Text(c)));
    out.push_back(row);
  }
  return out;
}

}  // namespace sluice::models::testing
