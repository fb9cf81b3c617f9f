#include "schemas/log_line.h"

#include <sys/time.h>
#include <unistd.h>

#include <ctime>

#include <nlohmann/json.hpp>

namespace sluice {
namespace {

LogFormat g_format = LogFormat::kLogfmt;
std::vector<LogField>* g_source = nullptr;  // leaked on purpose: lines may be logged during exit

std::string TimeText(std::int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm t{};
  gmtime_r(&secs, &t);
  char buf[96];  // room for any int the format could get
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday,
                t.tm_hour, t.tm_min, t.tm_sec, static_cast<int>(unix_ms % 1000));
  return buf;
}

// A JSON string literal of `text` (invalid UTF-8 shown as U+FFFD).
std::string Quoted(std::string_view text) {
  return nlohmann::json(std::string(text)).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// logfmt: bare when every byte is printable ASCII other than space, '=' and '"'.
bool Bare(std::string_view v) {
  if (v.empty()) return false;
  for (unsigned char c : v)
    if (c <= ' ' || c >= 0x7f || c == '=' || c == '"' || c == '\\') return false;
  return true;
}

void Append(LogFormat format, std::string* out, const LogField& f) {
  if (format == LogFormat::kJson) {
    *out += ',';
    *out += Quoted(f.key);
    *out += ':';
    *out += f.number ? f.value : Quoted(f.value);
    return;
  }
  *out += ' ';
  *out += f.key;
  *out += '=';
  *out += Bare(f.value) ? f.value : Quoted(f.value);
}

}  // namespace

std::optional<LogFormat> ParseLogFormat(std::string_view text) {
  if (text == "logfmt") return LogFormat::kLogfmt;
  if (text == "json") return LogFormat::kJson;
  return std::nullopt;
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "info";
}

void SetLogFormat(LogFormat format) { g_format = format; }
LogFormat CurrentLogFormat() { return g_format; }
void SetLogSource(std::vector<LogField> fields) {
  if (g_source == nullptr) g_source = new std::vector<LogField>();
  *g_source = std::move(fields);
}

std::string FormatLogLine(LogFormat format, std::int64_t unix_ms, LogLevel level, std::string_view msg,
                          const std::vector<LogField>& fields) {
  std::string out;
  out.reserve(96 + msg.size());
  if (format == LogFormat::kJson) {
    out += "{\"time\":\"" + TimeText(unix_ms) + "\",\"level\":\"" + std::string(LogLevelName(level)) + "\",\"msg\":";
    out += Quoted(msg);
  } else {
    out += "time=" + TimeText(unix_ms) + " level=" + std::string(LogLevelName(level)) + " msg=";
    out += Quoted(msg);  // always quoted: a message is prose
  }
  for (const LogField& f : fields) Append(format, &out, f);
  if (format == LogFormat::kJson) out += '}';
  out += '\n';
  return out;
}

void WriteLogLine(LogLevel level, std::string_view msg, const std::vector<LogField>& fields) {
  timeval tv{};
  gettimeofday(&tv, nullptr);
  const std::int64_t ms = static_cast<std::int64_t>(tv.tv_sec) * 1000 + tv.tv_usec / 1000;
  std::vector<LogField> all;
  if (g_source != nullptr) all = *g_source;
  all.insert(all.end(), fields.begin(), fields.end());
  const std::string line = FormatLogLine(g_format, ms, level, msg, all);
  // One write: lines from different threads never interleave. A failed
  // write to stderr has nowhere to be reported.
  ssize_t ignored = ::write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace sluice
