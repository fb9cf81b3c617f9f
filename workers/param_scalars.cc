#include "workers/param_scalars.h"

#include <charconv>
#include <optional>
#include <string>

namespace sluice::worker {
namespace {

// The string value of `key`, or nullopt when it is absent or not a string
// (then MapReader's own getter decides).
std::optional<std::string_view> TextOf(const proto::MapReader& reader, std::string_view key) {
  const msgpack::object* o = reader.Find(key);
  if (o == nullptr || o->type != msgpack::type::STR) return std::nullopt;
  return std::string_view(o->via.str.ptr, o->via.str.size);
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// Strict decimal: digits only (after an optional '-' when `signed_ok`),
// within the type's range.
template <typename T>
std::optional<T> ParseStrict(std::string_view s, bool signed_ok) {
  std::string_view digits = signed_ok && !s.empty() && s.front() == '-' ? s.substr(1) : s;
  if (!AllDigits(digits)) return std::nullopt;
  T v{};
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string Field(std::string_view key) { return "field '" + std::string(key) + "'"; }

}  // namespace

void ReadParamUint(proto::MapReader& reader, std::string_view key, std::uint64_t* out, bool required,
                   std::uint64_t max) {
  std::optional<std::string_view> text = TextOf(reader, key);
  if (!text) return reader.Uint(key, out, required, max);
  std::optional<std::uint64_t> v = ParseStrict<std::uint64_t>(*text, false);
  if (!v)
    return reader.Fail(Field(key) + " must be a non-negative integer (a number, or a string of digits such as \"1500\")");
  if (*v > max) return reader.Fail(Field(key) + " must be at most " + std::to_string(max));
  *out = *v;
}

void ReadParamInt(proto::MapReader& reader, std::string_view key, std::int64_t* out, bool required,
                  std::int64_t min, std::int64_t max) {
  std::optional<std::string_view> text = TextOf(reader, key);
  if (!text) return reader.Int(key, out, required, min, max);
  std::optional<std::int64_t> v = ParseStrict<std::int64_t>(*text, true);
  if (!v) return reader.Fail(Field(key) + " must be an integer (a number, or a string such as \"3\" or \"-3\")");
  if (*v < min || *v > max)
    return reader.Fail(Field(key) + " must be in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  *out = *v;
}

void ReadParamBool(proto::MapReader& reader, std::string_view key, bool* out, bool required) {
  std::optional<std::string_view> text = TextOf(reader, key);
  if (!text) return reader.Bool(key, out, required);
  if (*text == "true") *out = true;
  else if (*text == "false") *out = false;
  else reader.Fail(Field(key) + " must be a boolean (true or false, or the string \"true\" or \"false\")");
}

}  // namespace sluice::worker
