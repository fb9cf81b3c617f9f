#include "producers/cluster_format.h"

#include <sstream>

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


// ["a","b"] -> "a,b"; anything else as compact JSON.
std::string NameList(const json& v) {
  if (v.is_null()) return std::string();
  if (!v.is_array()) return Compact(v);
  std::string out;
  for (const auto& item : v) out += (out.empty() ? "" : ",") + (item.is_string() ? item.get<std::string>() : Compact(item));
  return out;
}

// A value for a "key  value" line: numbers and strings bare, the rest JSON.
std::string Scalar(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return Compact(v);
}

}  // namespace

std::string FormatWorkers(const json& workers, std::int64_t now_ms) {
  TextTable table({"WORKER", "HOST", "KEY", "PID", "QUEUES", "KINDS", "SLOTS", "BUSY", "VERSION",
                   "CONNECTED", "LAST SEEN"});
  if (workers.is_array()) {
    for (const auto& w : workers) {
      auto connected = Int(w, "connected_ms");
      auto seen = Int(w, "last_seen_ms");
      table.AddRow({Str(w, "worker"), Str(w, "host"), Str(w, "key").empty() ? "-" : Str(w, "key"), Number(w, "pid"), NameList(Get(w, "queues")),
                    NameList(Get(w, "kinds")), Number(w, "slots"), Number(w, "busy"),
                    Str(w, "version"), connected ? FormatIsoUtc(*connected, false) : "",
                    seen ? FormatDurationMs(now_ms - *seen) + " ago" : ""});
    }
  }
  return table.Render();
}

std::string FormatStats(const json& stats) {
  if (!stats.is_object()) return Compact(stats) + "\n";
  std::ostringstream out;
  if (!Str(stats, "version").empty()) out << "version  " << Str(stats, "version") << '\n';
  if (auto up = Int(stats, "uptime_ms")) out << "uptime   " << FormatDurationMs(*up) << '\n';
  const json& workers = Get(stats, "workers");
  if (!workers.is_null()) out << "workers  " << Scalar(workers) << '\n';
  const json& state_db = Get(stats, "state_db");
  if (state_db.is_object()) {
    const json& writable = Get(state_db, "writable");
    if (writable.is_boolean() && writable.get<bool>()) {
      out << "state db writable\n";
    } else {
      out << "state db NOT WRITABLE: " << Str(state_db, "error") << " (" << Number(state_db, "held_results")
          << " results held; retrying)\n";
    }
  }

  // Maps of name -> number, e.g. jobs per state and counters.
  auto counts = [&](const char* title, const json& m) {
    if (!m.is_object() || m.empty()) return;
    out << '\n' << title << ":\n";
    TextTable t({"", ""});
    for (const auto& [k, v] : m.items()) t.AddRow({k, Scalar(v)});
    std::istringstream lines(t.Render());
    std::string line;
    std::getline(lines, line);  // the empty header
    while (std::getline(lines, line)) out << "  " << line << '\n';
  };
  counts("jobs", Get(stats, "jobs"));

  const json& queues = Get(stats, "queues");
  if (queues.is_object() && !queues.empty()) {
    out << "\nqueues:\n";
    TextTable t({"QUEUE", "QUEUED", "RUNNING", "SCHEDULED"});
    for (const auto& [name, q] : queues.items())
      t.AddRow({name, Number(q, "queued"), Number(q, "running"), Number(q, "scheduled")});
    std::istringstream lines(t.Render());
    std::string line;
    while (std::getline(lines, line)) out << "  " << line << '\n';
  }
  counts("counters", Get(stats, "counters"));

  const json& tasks = Get(stats, "tasks");
  if (tasks.is_object() && !tasks.empty()) {
    out << "\ntasks:\n";
    TextTable t({"TASK", "RUNS", "LAST RUN", "DETAILS"});
    for (const auto& [name, task] : tasks.items()) {
      auto last = Int(task, "last_ms");
      // Whatever else the task reports (wal_checkpoint: failures,
      // truncations, pages_checkpointed, wal_bytes), as key=value.
      std::string details;
      if (task.is_object())
        for (const auto& [k, v] : task.items())
          if (k != "runs" && k != "last_ms" && k != "next_ms")
            details += (details.empty() ? "" : " ") + k + "=" + Scalar(v);
      t.AddRow({name, Number(task, "runs"), last && *last > 0 ? FormatIsoUtc(*last, false) : "",
                details});
    }
    std::istringstream lines(t.Render());
    std::string line;
    while (std::getline(lines, line)) out << "  " << line << '\n';
  }

  // Whatever else a newer broker reports.
  for (const auto& [k, v] : stats.items()) {
    if (k == "version" || k == "uptime_ms" || k == "now_ms" || k == "workers" || k == "jobs" || k == "queues" ||
        k == "counters" || k == "tasks" || k == "state_db")
      continue;
    out << k << "  " << Scalar(v) << '\n';
  }
  return out.str();
}

}  // namespace sluice
