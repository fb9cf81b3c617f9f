// Non-throwing reads of fields in broker replies (job, worker and stats
// objects decoded to JSON). A reply from a newer or buggy broker may miss a
// field or carry another type; display code must never throw on that, it
// shows the field as absent instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sluice::reply {

// The string at obj[key]; "" when absent, null or not a string.
std::string Str(const nlohmann::json& obj, std::string_view key);
// The integer at obj[key] (an integral float counts); nullopt otherwise.
std::optional<std::int64_t> Int(const nlohmann::json& obj, std::string_view key);
// The integer at obj[key] as decimal text; "" when there is none.
std::string Number(const nlohmann::json& obj, std::string_view key);
// The Unix-ms integer at obj[key] as ISO-8601 UTC text; "" when there is none.
std::string IsoTime(const nlohmann::json& obj, std::string_view key, bool with_millis = true);
// obj[key] or null when absent (obj need not be an object).
const nlohmann::json& Get(const nlohmann::json& obj, std::string_view key);
// `v` as one line of JSON; invalid UTF-8 (a tail cut mid-character) is
// replaced rather than thrown on.
std::string Compact(const nlohmann::json& v);
// `v` as indented JSON, for stdout with --json; invalid UTF-8 replaced.
std::string Pretty(const nlohmann::json& v);

}  // namespace sluice::reply
