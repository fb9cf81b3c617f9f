// MapWriter counts its entries: the bytes are those of a packer told the
// count up front, for fixmap, map16 and map32 sizes and nested maps.
#include "schemas/msgpack_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace sluice::proto {
namespace msgpack_writer_test {
namespace {

std::string Counted(std::uint32_t n, bool nested) {
  msgpack::sbuffer b;
  msgpack::packer<msgpack::sbuffer> pk(b);
  pk.pack_map(n + (nested ? 1 : 0));
  for (std::uint32_t i = 0; i < n; ++i) {
    pk.pack(std::to_string(i));
    pk.pack(i);
  }
  if (nested) {
    pk.pack(std::string("inner"));
    pk.pack_map(n);
    for (std::uint32_t i = 0; i < n; ++i) {
      pk.pack(std::to_string(i));
      pk.pack(i);
    }
  }
  return {b.data(), b.size()};
}

std::string Written(std::uint32_t n, bool nested) {
  std::string out = "prefix";
  {
    MapWriter w(&out);
    for (std::uint32_t i = 0; i < n; ++i) w.Num(std::to_string(i), i);
    if (nested) {
      w.Key("inner");
      MapWriter inner(&out);
      for (std::uint32_t i = 0; i < n; ++i) inner.Num(std::to_string(i), i);
    }
  }
  EXPECT_EQ(out.substr(0, 6), "prefix");
  return out.substr(6);
}

TEST(MapWriter, CountsItsEntries) {
  for (std::uint32_t n : {0u, 1u, 14u, 15u, 16u, 300u, 65535u, 65536u, 70000u}) {
    EXPECT_EQ(Written(n, false), Counted(n, false)) << n;
    EXPECT_EQ(Written(n, true), Counted(n, true)) << n;
  }
}

TEST(MapWriter, FinishIsIdempotent) {
  std::string out;
  MapWriter w(&out);
  w.Str("a", "b");
  w.Finish();
  w.Finish();
  EXPECT_EQ(out, std::string("\x81\xa1" "a" "\xa1" "b", 5));
}

}  // namespace
}  // namespace msgpack_writer_test
}  // namespace sluice::proto
