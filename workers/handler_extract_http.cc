// extract.http: one conditional GET into the landing zone. The params and
// outputs are in builtin_handlers.h; the file layout and naming in
// landing_names.h / landing_zone.h; the body's path to disk in
// landing_writer.h; the transfer in http_fetch.h.
#include <msgpack.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "pipeline/extract_url.h"
#include "pipeline/period.h"
#include "workers/builtin_handlers.h"
#include "workers/http_fetch.h"
#include "workers/job_params.h"
#include "workers/param_scalars.h"
#include "workers/landing_names.h"
#include "workers/landing_writer.h"
#include "workers/landing_zone.h"
#include "workers/s3_landing.h"
#include "workers/secret_template.h"

namespace sluice::worker {
namespace {

constexpr std::size_t kMaxUrlBytes = 8192;
constexpr std::size_t kMaxParamBytes = 1024;  // source, ext, dedup, date, period (validated after)
constexpr std::size_t kMaxHeaders = 64;
constexpr std::size_t kMaxHeaderNameBytes = 256;
constexpr std::size_t kMaxHeaderValueBytes = 8192;
constexpr std::size_t kMaxCursorBytes = 1024;
constexpr std::uint64_t kMaxFallbackPeriods = 400;
constexpr double kDefaultTimeoutS = 300;
constexpr double kMaxTimeoutS = 7 * 86400;
constexpr double kMaxStallS = 30;
constexpr std::chrono::hours kStaleTempAge{1};
// How often one worker process sweeps one partition for stale temp files.
constexpr std::chrono::minutes kSweepEvery{5};

struct Params {
  std::string url;  // template: placeholders and secret references unexpanded
  std::string source;
  std::string ext;  // "": from the URL
  std::vector<std::pair<std::string, std::string>> headers;  // values unresolved
  double timeout_s = kDefaultTimeoutS;
  std::uint64_t max_bytes = 0;
  Naming naming = Naming::kAuto;
  std::string date;  // "", or a period in `unit` (checked)
  PeriodUnit unit = PeriodUnit::kMonth;
  std::uint64_t fallback_periods = 0;
  std::string cursor_etag;
  std::string cursor_last_modified;
  std::string cursor_url;  // "": the cursor applies to whatever URL is fetched
};

// The RESULT outputs; every key is always present (see builtin_handlers.h).
struct Outputs {
  long status_code = 0;
  std::string url;
  std::string period;
  unsigned files_written = 0;
  unsigned files_skipped = 0;
  std::uint64_t bytes_written = 0;
  std::string path;
  std::string sha256;
  std::string etag;
  std::string last_modified;
  std::string cursor_value;
};

// The outputs, and under `extraction` what every extraction run reports to
// the broker (PROTOCOL.md §5.9): the counts, the URL (the key of the cursor
// of `source`), the validators that are its next cursor, cursor_value.
std::string Encode(const Outputs& o, const std::string& source) {
  msgpack::sbuffer buffer;
  msgpack::packer<msgpack::sbuffer> pk(buffer);
  pk.pack_map(12);
  pk.pack("status_code"), pk.pack(static_cast<std::int64_t>(o.status_code));
  pk.pack("url"), pk.pack(o.url);
  pk.pack("period"), pk.pack(o.period);
  pk.pack("files_written"), pk.pack(o.files_written);
  pk.pack("files_skipped"), pk.pack(o.files_skipped);
  pk.pack("bytes_written"), pk.pack(o.bytes_written);
  pk.pack("path"), pk.pack(o.path);
  pk.pack("sha256"), pk.pack(o.sha256);
  pk.pack("etag"), pk.pack(o.etag);
  pk.pack("last_modified"), pk.pack(o.last_modified);
  pk.pack("cursor_value"), pk.pack(o.cursor_value);
  pk.pack("extraction");
  pk.pack_map(9);
  pk.pack("source"), pk.pack(source);
  pk.pack("key"), pk.pack(o.url);
  pk.pack("url"), pk.pack(o.url);
  pk.pack("files_written"), pk.pack(o.files_written);
  pk.pack("files_skipped"), pk.pack(o.files_skipped);
  pk.pack("bytes_written"), pk.pack(o.bytes_written);
  pk.pack("etag"), pk.pack(o.etag);
  pk.pack("last_modified"), pk.pack(o.last_modified);
  pk.pack("cursor_value"), pk.pack(o.cursor_value);
  return std::string(buffer.data(), buffer.size());
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// An RFC 9110 token: a header name.
bool IsToken(std::string_view s) {
  if (s.empty() || s.size() > kMaxHeaderNameBytes) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

bool HasLineBreak(std::string_view s) { return s.find_first_of("\r\n") != std::string_view::npos; }

// A response header value fit for outputs and the next request's cursor:
// printable ASCII of bounded size, else "" (then no conditional request).
std::string CursorSafe(std::string_view value) {
  if (value.size() > kMaxCursorBytes) return {};
  for (unsigned char c : value)
    if (c < 0x20 || c > 0x7e) return {};
  return std::string(value);
}

// Digits, with at most one '.' between digits: "30", "2.5" (no sign,
// exponent, space or "inf").
bool IsPlainDecimal(std::string_view s) {
  const std::size_t dot = s.find('.');
  if (dot != std::string_view::npos && (dot == 0 || dot + 1 == s.size())) return false;
  if (dot != std::string_view::npos && s.find('.', dot + 1) != std::string_view::npos) return false;
  return !s.empty() && s.find_first_not_of("0123456789.") == std::string_view::npos;
}

void ReadSeconds(proto::MapReader& reader, std::string_view key, double* out) {
  const msgpack::object* o = reader.Find(key);
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  double v;
  if (o->type == msgpack::type::POSITIVE_INTEGER) {
    v = static_cast<double>(o->via.u64);
  } else if (o->type == msgpack::type::FLOAT32 || o->type == msgpack::type::FLOAT64) {
    v = o->via.f64;
  } else if (o->type == msgpack::type::STR && IsPlainDecimal({o->via.str.ptr, o->via.str.size})) {
    // "30" or "2.5", as `sluice submit --param timeout_s=30` sends it.
    std::from_chars(o->via.str.ptr, o->via.str.ptr + o->via.str.size, v);
  } else {
    return reader.Fail("field '" + std::string(key) + "' must be a number of seconds");
  }
  if (!std::isfinite(v) || v <= 0 || v > kMaxTimeoutS)
    return reader.Fail("field '" + std::string(key) + "' must be > 0 and at most " +
                       std::to_string(static_cast<long>(kMaxTimeoutS)) + " seconds");
  *out = v;
}

void ReadCursor(proto::MapReader& params, Params* p) {
  const msgpack::object* o = params.Find("cursor");
  if (o == nullptr || o->type == msgpack::type::NIL) return;
  if (o->type != msgpack::type::MAP) return params.Fail("field 'cursor' must be a map");
  proto::MapReader cursor(*o, "cursor");
  cursor.Str("etag", &p->cursor_etag, kMaxCursorBytes, false);
  cursor.Str("last_modified", &p->cursor_last_modified, kMaxCursorBytes, false);
  cursor.Str("url", &p->cursor_url, kMaxUrlBytes, false);
  if (!cursor.ok()) return params.Fail("field " + cursor.status().message());
  for (const std::string* v : {&p->cursor_etag, &p->cursor_last_modified})
    if (!v->empty() && !proto::IsPrintable(*v, kMaxCursorBytes))
      return params.Fail("field 'cursor': etag and last_modified must be printable, without line breaks");
}

// False (with `result` set) when the params are bad.
bool ReadParams(const msgpack::object& map, const HandlerSettings& settings, Params* p,
                proto::JobResult* result) {
  proto::MapReader params(map, "extract.http params");
  params.Str("url", &p->url, kMaxUrlBytes, /*required=*/true);
  if (params.ok() && (p->url.empty() || !proto::IsPrintable(p->url, kMaxUrlBytes)))
    params.Fail("field 'url' must be 1-8192 bytes without control characters");
  if (params.ok())
    if (Status st = CheckSecretReferences(p->url); !st.ok()) params.Fail("field 'url': " + st.message());
  // A URL ends up in logs, proxies and the origin's access log: secrets go
  // in headers unless the operator allows them in URLs.
  if (params.ok() && !settings.secret_in_url && p->url.find("${env:") != std::string::npos)
    params.Fail("field 'url': ${env:...} secrets are not allowed in URLs on this worker; send them "
                "in a header, or start the worker with --secret-in-url");

  params.Str("source", &p->source, kMaxParamBytes, /*required=*/true);
  if (params.ok())
    if (Status st = ValidateSource(p->source); !st.ok()) params.Fail(st.message());
  params.Str("ext", &p->ext, kMaxParamBytes, false);
  if (params.ok() && params.Find("ext") != nullptr && params.Find("ext")->type != msgpack::type::NIL)
    if (Status st = ValidateExt(p->ext); !st.ok()) params.Fail(st.message());

  ReadStringMap(params, "headers", &p->headers);
  if (params.ok() && p->headers.size() > kMaxHeaders)
    params.Fail("field 'headers' has more than " + std::to_string(kMaxHeaders) + " entries");
  for (const auto& [name, value] : p->headers) {
    if (!params.ok()) break;
    if (!IsToken(name)) {
      params.Fail("field 'headers': " + Quoted(name) + " is not a valid header name");
    } else if (value.size() > kMaxHeaderValueBytes || HasLineBreak(value)) {
      params.Fail("field 'headers' entry '" + name + "' must be at most 8192 bytes without line breaks");
    } else if (Status st = CheckSecretReferences(value); !st.ok()) {
      params.Fail("field 'headers' entry '" + name + "': " + st.message());
    }
  }

  ReadSeconds(params, "timeout_s", &p->timeout_s);
  // 0 or absent: the worker's cap. A job may lower the cap, not raise it.
  ReadParamUint(params, "max_bytes", &p->max_bytes, false);
  if (params.ok() && settings.extract_max_bytes != 0 && p->max_bytes > settings.extract_max_bytes)
    params.Fail("field 'max_bytes' " + std::to_string(p->max_bytes) + " is above this worker's limit of " +
                std::to_string(settings.extract_max_bytes) + " bytes (sluice-worker --extract-max-bytes)");
  if (p->max_bytes == 0) p->max_bytes = settings.extract_max_bytes;

  std::string dedup = "auto", date, period = "month";
  params.Str("dedup", &dedup, kMaxParamBytes, false);
  if (params.ok()) {
    if (dedup == "etag") p->naming = Naming::kEtag;
    else if (dedup == "hash") p->naming = Naming::kHash;
    else if (dedup == "auto") p->naming = Naming::kAuto;
    else params.Fail("field 'dedup' must be 'etag', 'hash' or 'auto'");
  }
  params.Str("period", &period, kMaxParamBytes, false);
  if (params.ok()) {
    std::optional<PeriodUnit> u = ParsePeriodUnit(period);
    if (u) p->unit = *u;
    else params.Fail("field 'period' must be 'day', 'month' or 'year'");
  }
  params.Str("date", &date, kMaxParamBytes, false);
  if (params.ok() && !date.empty()) {
    p->date = date;
    if (!ParsePeriod(date, p->unit))
      params.Fail("field 'date' " + Quoted(date) + " must be a calendar date YYYY-MM-DD, a month YYYY-MM or a year YYYY");
  }
  ReadParamUint(params, "fallback_periods", &p->fallback_periods, false, kMaxFallbackPeriods);
  ReadCursor(params, p);
  if (!params.ok()) {
    SetBadParams(params.status(), result);
    return false;
  }
  return true;
}

// "period=2024-03 etag="abc"" and the like: what was fetched, for people.
std::string CursorValue(bool with_period, const Outputs& o, std::string_view note) {
  std::string v;
  auto add = [&v](std::string_view part) {
    if (!v.empty()) v += ' ';
    v += part;
  };
  if (with_period) add("period=" + o.period);
  if (!o.etag.empty()) add("etag=" + o.etag.substr(0, 128));
  else if (!o.sha256.empty()) add("sha256=" + o.sha256.substr(0, 16));
  else if (!o.last_modified.empty()) add("last_modified=" + o.last_modified);
  if (!note.empty()) add(note);
  return v;
}

bool Retryable(long status) { return status == 408 || status == 429 || status >= 500; }

// Whether this process should sweep the partition folder `dir` now: the
// first time it lands there, then at most once per kSweepEvery. A sweep
// reads the whole folder (a month of a source can hold many thousands of
// files), and temp files only go stale when a process died mid-fetch
// (an unpublished temp file is deleted by its own job), so sweeping on
// every job bought nothing but an O(files) readdir per file.
bool SweepDue(const std::string& dir, std::chrono::system_clock::time_point now) {
  static std::mutex mu;
  static std::unordered_map<std::string, std::chrono::system_clock::time_point> last;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, first] = last.try_emplace(dir, now);
  if (first) return true;
  if (now >= it->second && now - it->second < kSweepEvery) return false;
  it->second = now;
  return true;
}

class ExtractRun {
 public:
  ExtractRun(const JobContext& job, const CancelToken& cancel, proto::JobResult* result)
      : job_(job), cancel_(cancel), result_(result) {}

  void Run();

 private:
  // Each sets the result and returns true: the attempt is decided.
  bool Fail(std::string error, bool retryable, std::uint64_t retry_after_ms = 0);
  bool Succeed(std::string_view note);
  bool Stopped(StopReason why);
  // One URL. Returns true when the job is decided (result set), false to
  // try the previous period (a 404 with periods left).
  bool FetchOnce(unsigned back, bool last_try);
  // The GET of `url` (secrets resolved in `resolved_url`), conditional when
  // the cursor applies to it.
  HttpRequest MakeRequest(unsigned back, const std::string& url, std::string resolved_url) const;
  // A transfer that did not complete: stopped, failed, or its body refused.
  bool DecideUnfinished(const HttpResult& http, const LandingWriter& writer, const std::string& what);
  // A 2xx body: into the landing zone.
  bool Land(const HttpResult& http, LandingWriter& writer, const std::string& what);
  // A status that is neither 2xx nor 304.
  bool FailStatus(const HttpResult& http, unsigned back, const std::string& what);
  // The landing zone's partition for this job: a folder, or a prefix in
  // the object store (--landing s3://...).
  Result<std::unique_ptr<LandingPartition>> OpenPartition(std::chrono::system_clock::time_point now);
  // Whether a landing failure may pass on a retry: not when the store
  // refused the request itself (credentials, bucket, a bad request).
  static bool LandingRetryable(const Status& st) {
    return st.code() != Code::kInvalidArgument && st.code() != Code::kNotFound && st.code() != Code::kInternal;
  }

  const JobContext& job_;
  const CancelToken& cancel_;
  proto::JobResult* result_;
  Params p_;
  long long now_ms_ = 0;  // when the job started: the logical period when it names none
  bool templated_ = false;
  Outputs out_;
  SecretRedactor redactor_;
  EnvLookup env_ = ProcessEnvironment();
  std::vector<std::string> headers_;  // resolved "Name: value"
  bool secret_headers_ = false;       // a header value came from ${env:...}
  bool user_if_none_match_ = false;
  bool user_if_modified_since_ = false;
  std::unique_ptr<LandingPartition> partition_;
  std::string first_url_;
};

bool ExtractRun::Fail(std::string error, bool retryable, std::uint64_t retry_after_ms) {
  result_->outcome = Outcome::kFailed;
  result_->retryable = retryable;
  result_->retry_after_ms = retry_after_ms;
  result_->error = redactor_.Redact(error);
  out_.cursor_value = CursorValue(templated_, out_, "");
  result_->outputs = Encode(out_, p_.source);
  return true;
}

bool ExtractRun::Succeed(std::string_view note) {
  result_->outcome = Outcome::kSucceeded;
  out_.cursor_value = CursorValue(templated_, out_, note);
  result_->outputs = Encode(out_, p_.source);
  return true;
}

bool ExtractRun::Stopped(StopReason why) {
  result_->outcome = OutcomeFor(why);
  result_->error = "extract.http: " + std::string(Describe(why)) + " during GET " + out_.url +
                   "; nothing was kept";
  result_->outputs = Encode(out_, p_.source);
  return true;
}

void ExtractRun::Run() {
  if (!ReadParams(job_.params, job_.settings, &p_, result_)) return;
  const auto now = std::chrono::system_clock::now();
  now_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  templated_ = HasPeriodPlaceholders(p_.url);
  if (std::optional<ExtractUrl> first = ResolveExtractUrl(p_.url, p_.date, p_.unit, now_ms_)) {
    out_.url = first->url;
    out_.period = FormatPeriod(first->period);
  }

  for (const auto& [name, value] : p_.headers) {
    Result<std::string> v = ResolveSecrets(value, job_.settings.secret_env, env_, &redactor_);
    if (!v.ok()) {
      Fail("extract.http: header '" + name + "': " + v.status().message(), false);
      return;
    }
    if (HasLineBreak(v.value())) {
      Fail("extract.http: header '" + name + "': a resolved secret contains a line break", false);
      return;
    }
    headers_.push_back(v->empty() ? name + ";" : name + ": " + v.value());
    if (value.find("${env:") != std::string::npos) secret_headers_ = true;
    if (IEquals(name, "If-None-Match")) user_if_none_match_ = true;
    if (IEquals(name, "If-Modified-Since")) user_if_modified_since_ = true;
  }

  Result<std::unique_ptr<LandingPartition>> partition = OpenPartition(now);
  if (!partition.ok()) {
    Fail("extract.http: " + partition.status().message(), LandingRetryable(partition.status()));
    return;
  }
  partition_ = std::move(partition.value());
  if (!job_.settings.store && SweepDue(job_.settings.landing_dir + "/" + partition_->relative_dir(), now))
    if (int swept = partition_->SweepStaleTemps(now, kStaleTempAge); swept > 0)
      job_.log.Info("extract.http: removed %d stale temp file(s) from %s", swept,
                    partition_->relative_dir().c_str());

  const unsigned tries = templated_ ? static_cast<unsigned>(p_.fallback_periods) + 1 : 1;
  for (unsigned back = 0; back < tries; ++back) {
    if (StopReason why = cancel_.reason(); why != StopReason::kNone) {
      Stopped(why);
      return;
    }
    if (FetchOnce(back, back + 1 == tries)) return;
  }
}

Result<std::unique_ptr<LandingPartition>> ExtractRun::OpenPartition(std::chrono::system_clock::time_point now) {
  const HandlerSettings& settings = job_.settings;
  if (!settings.store) return LandingPartition::Open(settings.landing_dir, p_.source, now);
  Result<s3::Location> location = s3::ParseLocation(settings.landing_dir);
  if (!location.ok()) return location.status();
  s3::Client* client = ThreadS3Client(*settings.store, [this] { return cancel_.reason() != StopReason::kNone; });
  return OpenS3Partition(client, location.value(), p_.source, now, settings.spool_dir);
}

bool ExtractRun::FetchOnce(unsigned back, bool last_try) {
  // The date was checked with the params: there is a URL.
  const ExtractUrl target = ResolveExtractUrl(p_.url, p_.date, p_.unit, now_ms_, back).value();
  const std::string& url = target.url;
  if (back == 0) first_url_ = url;
  out_ = Outputs{};
  out_.url = url;
  out_.period = FormatPeriod(target.period);
  const std::string what = "GET " + url;

  Result<std::string> resolved = ResolveSecrets(url, job_.settings.secret_env, env_, &redactor_);
  if (!resolved.ok()) return Fail("extract.http: url: " + resolved.status().message(), false);
  const HttpRequest request = MakeRequest(back, url, std::move(resolved.value()));

  const std::string ext = p_.ext.empty() ? ExtensionFromUrl(url) : p_.ext;
  LandingWriter writer(partition_.get(), p_.naming, url, ext);
  HttpResult http = HttpGet(request, cancel_, &writer);
  out_.status_code = http.head.status;
  out_.etag = CursorSafe(http.head.etag);
  out_.last_modified = CursorSafe(http.head.last_modified);
  if (http.end != HttpResult::End::kComplete) return DecideUnfinished(http, writer, what);

  const long status = http.head.status;
  if (status == 304) {
    if (out_.etag.empty()) out_.etag = p_.cursor_etag;
    if (out_.last_modified.empty()) out_.last_modified = p_.cursor_last_modified;
    out_.files_skipped = 1;
    return Succeed("not modified");
  }
  if (status >= 200 && status <= 299) return Land(http, writer, what);
  if (status == 404 && !last_try) return false;
  return FailStatus(http, back, what);
}

HttpRequest ExtractRun::MakeRequest(unsigned back, const std::string& url, std::string resolved_url) const {
  HttpRequest request;
  request.url = std::move(resolved_url);
  request.headers = headers_;
  // The broker looked the cursor up by the job's own URL (period 0), or
  // says which URL it belongs to.
  const bool cursor_applies = p_.cursor_url.empty() ? back == 0 : p_.cursor_url == url;
  if (cursor_applies && !p_.cursor_etag.empty() && !user_if_none_match_)
    request.headers.push_back("If-None-Match: " + p_.cursor_etag);
  if (cursor_applies && !p_.cursor_last_modified.empty() && !user_if_modified_since_)
    request.headers.push_back("If-Modified-Since: " + p_.cursor_last_modified);
  request.timeout = std::chrono::milliseconds(std::llround(p_.timeout_s * 1000));
  request.stall = std::chrono::seconds(static_cast<long>(std::ceil(std::min(p_.timeout_s, kMaxStallS))));
  request.max_bytes = p_.max_bytes;
  // libcurl would send custom headers (secrets among them) to wherever a
  // redirect points; only Authorization and cookies stay behind.
  if (secret_headers_) request.max_redirects = 0;
  return request;
}

bool ExtractRun::DecideUnfinished(const HttpResult& http, const LandingWriter& writer, const std::string& what) {
  switch (http.end) {
    case HttpResult::End::kStopped:
      return Stopped(http.stopped_by);
    case HttpResult::End::kFailed:
      if (http.too_large)
        return Fail("extract.http: " + what + ": the body is larger than max_bytes = " +
                        std::to_string(p_.max_bytes) + "; nothing was kept",
                    false);
      return Fail("extract.http: " + what + ": " + http.error, http.retryable, http.retry_after_ms);
    case HttpResult::End::kSinkStopped:
      switch (writer.stop()) {
        case LandingWriter::Stop::kAlreadyLanded:
          out_.files_skipped = 1;
          out_.path = partition_->RelativePath(writer.name());
          return Succeed("already landed");
        case LandingWriter::Stop::kCorrupt:
          return Fail("extract.http: " + what + ": " + writer.stop_status().message(), writer.declared_gzip());
        case LandingWriter::Stop::kIoError:
          return Fail("extract.http: " + writer.stop_status().message(), LandingRetryable(writer.stop_status()));
        default:
          return Fail("extract.http: " + what + ": " + writer.stop_status().message(), false);
      }
    case HttpResult::End::kComplete:
      break;
  }
  return false;  // not reached: a complete transfer is decided by its status
}

bool ExtractRun::Land(const HttpResult& http, LandingWriter& writer, const std::string& what) {
  Result<Landed> landed = writer.Finish(http.head);
  if (!landed.ok()) {
    const Status& st = landed.status();
    bool retryable = st.code() == Code::kIOError || st.code() == Code::kUnavailable ||
                     (st.code() == Code::kCorruption && writer.declared_gzip());
    return Fail("extract.http: " + what + ": " + st.message(), retryable);
  }
  out_.path = partition_->RelativePath(landed->name);
  out_.sha256 = landed->sha256;
  out_.bytes_written = landed->bytes_written;
  out_.files_written = landed->written ? 1 : 0;
  out_.files_skipped = landed->written ? 0 : 1;
  return Succeed(landed->written ? "" : "already landed");
}

bool ExtractRun::FailStatus(const HttpResult& http, unsigned back, const std::string& what) {
  const long status = http.head.status;
  std::string error = "extract.http: HTTP " + std::to_string(status) + " for " + what;
  if (status == 404 && back > 0)
    error += " (tried " + std::to_string(back + 1) + " periods, from " + first_url_ + ")";
  if (status == 0) error = "extract.http: no HTTP response for " + what;
  if (status >= 300 && status <= 399 && secret_headers_)
    error += " (redirects are not followed for requests whose headers carry ${env:...} secrets)";
  if (Retryable(status)) return Fail(error, true, http.retry_after_ms);
  return Fail(error, false);
}

}  // namespace

void RunExtractHttp(const JobContext& job, const CancelToken& cancel, proto::JobResult* result) {
  ExtractRun(job, cancel, result).Run();
  // The thread's store client must not keep asking this job's token.
  if (job.settings.store) ThreadS3Client(*job.settings.store, nullptr);
}

}  // namespace sluice::worker
