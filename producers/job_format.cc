#include "producers/job_format.h"

#include <sstream>
#include <vector>

#include "producers/reply_fields.h"
#include "producers/text_table.h"
#include "producers/time_format.h"

namespace sluice {
namespace {

using json = nlohmann::json;
using reply::Compact;
using reply::Get;
using reply::Int;
using reply::IsoTime;
using reply::Number;
using reply::Str;



// Appends "label     value\n" when value is not empty.
void Field(std::ostringstream& out, const char* label, const std::string& value) {
  if (value.empty()) return;
  std::string l = label;
  l.resize(12, ' ');
  out << l << value << '\n';
}

// Text that may span lines (an error, an output tail), indented under a label.
void Block(std::ostringstream& out, const char* label, const std::string& text) {
  if (text.empty()) return;
  out << "    " << label << ":\n";
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) out << "      | " << line << '\n';
}

std::string DurationField(const json& obj, const char* key) {
  auto v = Int(obj, key);
  return v ? FormatDurationMs(*v) : std::string();
}

void FormatAttempt(std::ostringstream& out, const json& a, std::int64_t now_ms) {
  std::string outcome = Str(a, "outcome");
  if (outcome.empty()) outcome = "running";
  out << "  attempt " << Number(a, "attempt") << "  " << outcome << '\n';
  std::string who = Str(a, "worker");
  const std::string host = Str(a, "host");
  if (!host.empty()) who += (who.empty() ? "" : " ") + std::string("on ") + host;
  auto field = [&](const char* label, const std::string& value) {
    if (value.empty()) return;
    std::string l = label;
    l.resize(10, ' ');
    out << "    " << l << value << '\n';
  };
  field("worker", who);
  field("started", IsoTime(a, "started_ms"));
  field("finished", IsoTime(a, "finished_ms"));
  const auto started = Int(a, "started_ms");
  const auto finished = Int(a, "finished_ms");
  if (started && finished)
    field("duration", FormatDurationMs(*finished - *started));
  else if (started)
    field("duration", FormatDurationMs(now_ms - *started) + " so far");
  field("exit code", Number(a, "exit_code"));
  Block(out, "error", Str(a, "error"));
  Block(out, "stdout (tail)", Str(a, "stdout"));
  Block(out, "stderr (tail)", Str(a, "stderr"));
}

}  // namespace

std::string FormatJob(const json& job, std::int64_t now_ms) {
  std::ostringstream out;
  Field(out, "id", Str(job, "id"));
  Field(out, "state", Str(job, "state"));
  Field(out, "kind", Str(job, "kind"));
  Field(out, "queue", Str(job, "queue"));
  Field(out, "priority", Number(job, "priority"));
  {
    std::string attempts = Number(job, "attempt");
    if (!attempts.empty()) {
      attempts += " started";
      if (auto f = Int(job, "failures")) attempts += ", " + std::to_string(*f) + " failed";
      if (auto m = Int(job, "max_attempts")) attempts += " (max " + std::to_string(*m) + ")";
    }
    Field(out, "attempts", attempts);
  }
  Field(out, "backoff", DurationField(job, "backoff_ms"));
  {
    auto t = Int(job, "timeout_ms");
    Field(out, "timeout", !t ? std::string() : *t == 0 ? "none" : FormatDurationMs(*t));
  }
  Field(out, "key", Str(job, "key"));
  Field(out, "created", IsoTime(job, "created_ms"));
  Field(out, "updated", IsoTime(job, "updated_ms"));
  if (Str(job, "state") == "scheduled" || Str(job, "state") == "queued")
    Field(out, "run at", IsoTime(job, "run_at_ms"));
  Field(out, "finished", IsoTime(job, "finished_ms"));
  Field(out, "waiting", Str(job, "waiting"));
  Field(out, "error", Str(job, "error"));
  const json& params = Get(job, "params");
  if (!params.is_null()) Field(out, "params", Compact(params));
  const json& outputs = Get(job, "outputs");
  if (!outputs.is_null() && !(outputs.is_object() && outputs.empty()))
    Field(out, "outputs", Compact(outputs));
  const json& attempts = Get(job, "attempts");
  if (attempts.is_array() && !attempts.empty()) {
    out << "\nattempts:\n";
    for (std::size_t i = 0; i < attempts.size(); ++i) {
      if (i > 0) out << '\n';
      FormatAttempt(out, attempts[i], now_ms);
    }
  }
  return out.str();
}

std::string FormatJobTable(const json& jobs) {
  TextTable table({"ID", "STATE", "KIND", "QUEUE", "PRI", "ATTEMPT", "CREATED", "INFO"});
  if (jobs.is_array()) {
    for (const auto& job : jobs) {
      const std::string state = Str(job, "state");
      std::vector<std::string> info;
      if (!Str(job, "waiting").empty()) info.push_back("waiting: " + Str(job, "waiting"));
      if (state == "scheduled" && Int(job, "run_at_ms"))
        info.push_back("next run " + IsoTime(job, "run_at_ms", false));
      if (!Str(job, "error").empty()) info.push_back("error: " + Str(job, "error"));
      std::string joined;
      for (const auto& part : info) joined += (joined.empty() ? "" : "; ") + part;
      std::string attempt = Number(job, "attempt");
      if (auto m = Int(job, "max_attempts"); m && !attempt.empty()) attempt += "/" + std::to_string(*m);
      table.AddRow({Str(job, "id"), state, Str(job, "kind"), Str(job, "queue"),
                    Number(job, "priority"), attempt, IsoTime(job, "created_ms", false), joined});
    }
  }
  return table.Render();
}

std::string FormatJobLine(const json& job) {
  std::string line = Str(job, "id") + " " + Str(job, "state");
  // The error explains a job that ended badly; on a live job it is history.
  const std::string state = Str(job, "state");
  const bool ended_badly = state == "dead" || state == "cancelled";
  if (const std::string e = Str(job, "error"); !e.empty() && ended_badly) {
    std::string one = e.substr(0, e.find('\n'));
    line += " (" + one + ")";
  }
  return line + "\n";
}

}  // namespace sluice
