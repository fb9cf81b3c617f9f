// `sluice cron EXPR [--from T] [--count N]`: the next fire times of a cron
// expression, to check it before a workflow is deployed with it.
#include "producers/cli_cron.h"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "pipeline/workflows/cron_expr.h"
#include "producers/exit_codes.h"
#include "producers/time_format.h"

namespace sluice::cli {
namespace {

namespace chr = std::chrono;

struct CronOptions {
  std::string expr;
  std::string from;
  bool from_given = false;  // else: now
  int count = 5;
};

const char* WeekdayName(std::int64_t unix_seconds) {
  static constexpr const char* kNames[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  const auto day = chr::floor<chr::days>(chr::sys_seconds{chr::seconds{unix_seconds}});
  return kNames[chr::weekday{day}.c_encoding()];
}

std::string Iso(std::int64_t unix_seconds) { return FormatIsoUtc(unix_seconds * 1000, false); }

int RunCron(Context& ctx, const CronOptions& o) {
  auto expr = workflows::ParseCron(o.expr);
  if (!expr.ok()) return ctx.Usage(expr.status().message());
  std::int64_t from = 0;
  if (!o.from_given) {
    const std::int64_t now_ms = NowUnixMs();
    from = now_ms / 1000 - (now_ms % 1000 < 0 ? 1 : 0);
  } else {
    auto parsed = ParseUtcInstant(o.from);
    if (!parsed)
      return ctx.Usage("--from '" + o.from +
                       "' is not a UTC time (YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DDTHH:MMZ or YYYY-MM-DD)");
    from = *parsed;
  }
  std::vector<std::int64_t> next;
  for (std::int64_t t = from; static_cast<int>(next.size()) < o.count;) {
    auto n = expr->NextAfter(t);
    if (!n) break;  // only past year 9999, once it has fired at all
    next.push_back(*n);
    t = *n;
  }
  if (next.empty())
    return ctx.Usage("cron \"" + o.expr + "\" never fires (nothing within " +
                     std::to_string(workflows::kCronSearchYears) + " years after " + Iso(from) + ")");
  if (ctx.global.json) {
    nlohmann::json times = nlohmann::json::array();
    for (std::int64_t t : next) times.push_back(Iso(t));
    ctx.PrintJson({{"expr", o.expr}, {"next", std::move(times)}});
    return kExitOk;
  }
  std::string lines;
  for (std::int64_t t : next) lines += Iso(t) + "  " + WeekdayName(t) + "\n";
  ctx.out << lines;
  return kExitOk;
}

// Reads exactly `n` digits at `*pos` of `s`.
std::optional<int> Digits(std::string_view s, std::size_t* pos, std::size_t n) {
  if (*pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[*pos + i];
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  return v;
}

bool Take(std::string_view s, std::size_t* pos, std::string_view chars) {
  if (*pos < s.size() && chars.find(s[*pos]) != std::string_view::npos) {
    ++*pos;
    return true;
  }
  return false;
}

}  // namespace

std::optional<std::int64_t> ParseUtcInstant(std::string_view s) {
  std::size_t pos = 0;
  auto y = Digits(s, &pos, 4);
  if (!y || *y < 1 || !Take(s, &pos, "-")) return std::nullopt;
  auto mo = Digits(s, &pos, 2);
  if (!mo || !Take(s, &pos, "-")) return std::nullopt;
  auto d = Digits(s, &pos, 2);
  if (!d) return std::nullopt;
  int h = 0, mi = 0, sec = 0;
  if (pos < s.size()) {
    if (!Take(s, &pos, "Tt ")) return std::nullopt;
    auto hh = Digits(s, &pos, 2);
    if (!hh || !Take(s, &pos, ":")) return std::nullopt;
    auto mm = Digits(s, &pos, 2);
    if (!mm) return std::nullopt;
    h = *hh;
    mi = *mm;
    if (Take(s, &pos, ":")) {
      auto ss = Digits(s, &pos, 2);
      if (!ss) return std::nullopt;
      sec = *ss;
    }
    Take(s, &pos, "Zz");
    if (pos != s.size()) return std::nullopt;
  }
  const chr::year_month_day ymd{chr::year(*y), chr::month(static_cast<unsigned>(*mo)),
                                chr::day(static_cast<unsigned>(*d))};
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59) return std::nullopt;
  return chr::sys_days{ymd}.time_since_epoch().count() * std::int64_t{86400} + h * 3600 + mi * 60 + sec;
}

void AddCronCommands(CLI::App& app, Context& ctx, CommandList* commands) {
  auto o = std::make_shared<CronOptions>();
  CLI::App* cron = app.add_subcommand(
      "cron", "Check a cron expression: print its next fire times (UTC); needs no broker");
  cron->add_option("EXPR", o->expr,
                   "Five fields (minute hour day-of-month month day-of-week), quoted, or a macro "
                   "(@hourly @daily @weekly @monthly @yearly)")
      ->required();
  CLI::Option* from = cron->add_option("--from", o->from,
                   "Fire times after this UTC time: YYYY-MM-DDTHH:MM:SSZ, YYYY-MM-DDTHH:MMZ or "
                   "YYYY-MM-DD (default: now)");
  cron->add_option("--count", o->count, "How many fire times")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cron->footer(
      "Fields take lists (1,5,10), ranges (1-5), steps (*/15, 10-40/10, 5/15), JAN-DEC and\n"
      "SUN-SAT; day-of-week 0-7 (0 and 7 are Sunday). When both day fields are restricted\n"
      "(neither starts with *), a day matches when either does. Times are UTC.\n"
      "--json prints {\"expr\": EXPR, \"next\": [\"YYYY-MM-DDTHH:MM:SSZ\", ...]}.\n"
      "A bad expression or --from, or one that never fires (0 0 30 2 *), exits 2.");
  commands->emplace_back(cron, [&ctx, o, from] {
    o->from_given = from->count() > 0;
    return RunCron(ctx, *o);
  });
}

}  // namespace sluice::cli
