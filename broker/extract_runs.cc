#include "broker/extract_runs.h"

#include <algorithm>
#include <climits>
#include <cstdint>
#include <optional>

#include <msgpack.hpp>

#include "pipeline/extract_url.h"
#include "pipeline/period.h"
#include "schemas/job_id.h"
#include "schemas/name_rule.h"
#include "schemas/msgpack_reader.h"
#include "schemas/protocol.h"

namespace sluice::broker {
namespace {

struct Sink {
  std::string* s;
  void write(const char* p, std::size_t n) { s->append(p, n); }
};

// The string value of `key` in a decoded params map, or empty.
std::string StrField(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return {};
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key &&
        kv.val.type == msgpack::type::STR)
      return std::string(kv.val.via.str.ptr, kv.val.via.str.size);
  }
  return {};
}

std::int64_t IntField(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return 0;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key) {
      if (kv.val.type == msgpack::type::POSITIVE_INTEGER) return static_cast<std::int64_t>(kv.val.via.u64);
      if (kv.val.type == msgpack::type::NEGATIVE_INTEGER) return kv.val.via.i64;
    }
  }
  return 0;
}

bool Unpack(std::string_view bytes, msgpack::object_handle* h) {
  return !bytes.empty() && proto::UnpackBody(bytes, h).ok();
}

// The value of `key` in a decoded map, or null.
const msgpack::object* Find(const msgpack::object& map, std::string_view key) {
  if (map.type != msgpack::type::MAP) return nullptr;
  for (std::uint32_t i = 0; i < map.via.map.size; ++i) {
    const auto& kv = map.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == key)
      return &kv.val;
  }
  return nullptr;
}

// A string field of at most `max` bytes, else nullopt (absent, nil, another
// type, too long).
std::optional<std::string> BoundedStr(const msgpack::object& map, std::string_view key, std::size_t max) {
  const msgpack::object* v = Find(map, key);
  if (v == nullptr || v->type != msgpack::type::STR || v->via.str.size > max) return std::nullopt;
  return std::string(v->via.str.ptr, v->via.str.size);
}

// A count: a uint up to INT64_MAX; anything else (a negative, another type) 0.
std::int64_t Count(const msgpack::object& map, std::string_view key) {
  const msgpack::object* v = Find(map, key);
  if (v == nullptr || v->type != msgpack::type::POSITIVE_INTEGER) return 0;
  return v->via.u64 > static_cast<std::uint64_t>(INT64_MAX) ? 0 : static_cast<std::int64_t>(v->via.u64);
}

// The first `max` bytes of UTF-8 text `s`, cut between characters.
std::string CutUtf8(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// The report of an extract.http worker of an earlier release: the same
// fields at the top of its outputs, keyed by the fetched URL.
ExtractionReport LegacyHttpReport(const msgpack::object& out) {
  ExtractionReport r;
  r.files_written = IntField(out, "files_written");
  r.files_skipped = IntField(out, "files_skipped");
  r.bytes_written = IntField(out, "bytes_written");
  r.url = StrField(out, "url");
  r.key = r.url;
  r.cursor_value = StrField(out, "cursor_value");
  r.etag = StrField(out, "etag");
  r.last_modified = StrField(out, "last_modified");
  return r;
}

// "true" or true.
bool IsTrue(const msgpack::object* v) {
  if (v == nullptr) return false;
  if (v->type == msgpack::type::BOOLEAN) return v->via.boolean;
  return v->type == msgpack::type::STR && std::string_view(v->via.str.ptr, v->via.str.size) == "true";
}

// The concurrency key "<prefix>:<source>" and params.concurrency_limit or 4.
void SourceConcurrency(std::string_view prefix, const msgpack::object& params, const std::string& source,
                       std::string* key, std::uint32_t* limit) {
  *key = std::string(prefix) + ":" + source;
  std::int64_t l = IntField(params, "concurrency_limit");
  *limit = l > 0 && l <= proto::kMaxConcurrencyLimit ? static_cast<std::uint32_t>(l) : 4;
}

// The params as sent: `params`' entries, minus `cursor` when `cursor` is
// given, plus `date` when `add_date` is, plus the cursor.
void PackParams(const msgpack::object& params, const std::string* add_date,
                const ExtractRuns::StoredCursor* cursor, bool strip_cursor, std::string* out) {
  strip_cursor = strip_cursor || cursor != nullptr;
  const auto& m = params.via.map;
  auto is_cursor = [](const msgpack::object& k) {
    return k.type == msgpack::type::STR && std::string_view(k.via.str.ptr, k.via.str.size) == "cursor";
  };
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < m.size; ++i)
    if (!strip_cursor || !is_cursor(m.ptr[i].key)) ++n;
  out->clear();
  Sink sink{out};
  msgpack::packer<Sink> pk(sink);
  pk.pack_map(n + (add_date != nullptr ? 1 : 0) + (cursor != nullptr ? 1 : 0));
  for (std::uint32_t i = 0; i < m.size; ++i) {
    const auto& kv = m.ptr[i];
    if (strip_cursor && is_cursor(kv.key)) continue;
    pk.pack(kv.key);
    pk.pack(kv.val);
  }
  if (add_date != nullptr) {
    pk.pack(std::string("date"));
    pk.pack(*add_date);
  }
  if (cursor != nullptr) {
    pk.pack(std::string("cursor"));
    if (cursor->cursor) {
      pk.pack(*cursor->cursor);
    } else {
      pk.pack_map(2);
      pk.pack(std::string("etag"));
      pk.pack(cursor->etag);
      pk.pack(std::string("last_modified"));
      pk.pack(cursor->last_modified);
    }
  }
}

}  // namespace

std::optional<ExtractionReport> ReadExtractionReport(const msgpack::object& outputs, std::string_view default_key) {
  const msgpack::object* x = Find(outputs, "extraction");
  if (x == nullptr || x->type != msgpack::type::MAP) return std::nullopt;
  ExtractionReport r;
  r.files_written = Count(*x, "files_written");
  r.files_skipped = Count(*x, "files_skipped");
  r.bytes_written = Count(*x, "bytes_written");
  r.key = BoundedStr(*x, "key", kMaxCursorKeyBytes).value_or(std::string(default_key));
  r.url = BoundedStr(*x, "url", kMaxExtractionUrlBytes).value_or("");
  r.cursor = BoundedStr(*x, "cursor", kMaxCursorBytes);
  r.etag = BoundedStr(*x, "etag", kMaxValidatorBytes).value_or("");
  r.last_modified = BoundedStr(*x, "last_modified", kMaxValidatorBytes).value_or("");
  if (std::optional<std::string> v = BoundedStr(*x, "cursor_value", proto::kMaxOutputsBytes))
    r.cursor_value = CutUtf8(*v, kMaxCursorValueBytes);
  else if (r.cursor)
    r.cursor_value = CutUtf8(*r.cursor, kMaxCursorValueBytes);
  return r;
}

bool IsCustomExtraction(const msgpack::object& params, std::string* source, std::string* cursor_key) {
  if (!IsTrue(Find(params, "extraction"))) return false;
  std::optional<std::string> s = BoundedStr(params, "source", proto::kMaxNameBytes);
  if (!s || !proto::IsValidName(*s) || s->front() == '.') return false;
  cursor_key->clear();
  if (const msgpack::object* k = Find(params, "cursor_key"); k != nullptr && k->type != msgpack::type::NIL) {
    std::optional<std::string> v = BoundedStr(params, "cursor_key", kMaxCursorKeyBytes);
    if (!v) return false;
    *cursor_key = std::move(*v);
  }
  *source = std::move(*s);
  return true;
}

void DefaultExtractConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) {
  msgpack::object_handle h;
  if (!Unpack(params, &h)) return;
  std::string source = StrField(h.get(), "source");
  if (source.empty()) return;
  SourceConcurrency(kExtractKind, h.get(), source, key, limit);
}

void ExtractRuns::DefaultConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) const {
  DefaultExtractConcurrency(params, key, limit);
}

Status ExtractRuns::Prepare(Database& db, MetricCounters* metrics) {
  metrics_ = metrics;
  struct P { Statement* st; const char* sql; };
  const P all[] = {
      {&insert_run_,
       "INSERT INTO extraction_runs(extractor, started_at, status, job_id, attempt, source, url) "
       "VALUES (?1, ?2, 'running', ?3, ?4, ?5, ?6) "
       "ON CONFLICT(job_id, attempt) DO UPDATE SET started_at=excluded.started_at, "
       "status='running', finished_at=NULL, error_message=NULL"},
      {&finish_run_,
       "UPDATE extraction_runs SET finished_at=?3, status=?4, files_written=?5, files_skipped=?6, "
       "bytes_written=?7, cursor_value=COALESCE(?8, cursor_value), error_message=?9, "
       "url=COALESCE(?10, url) WHERE job_id=?1 AND attempt=?2"},
      {&get_cursor_, "SELECT etag, last_modified, cursor FROM extract_cursors WHERE source=?1 AND url=?2"},
      {&put_cursor_,
       "INSERT INTO extract_cursors(source, url, etag, last_modified, cursor, updated_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(source, url) DO UPDATE SET "
       "etag=excluded.etag, last_modified=excluded.last_modified, cursor=excluded.cursor, "
       "updated_at=excluded.updated_at"},
  };
  for (const auto& p : all) {
    auto r = db.Prepare(p.sql);
    if (!r.ok()) return r.status();
    *p.st = std::move(r).value();
  }
  return Status::Ok();
}

Status ExtractRuns::RecordStart(const Job& job, std::string_view extractor, std::string_view source,
                                std::string_view url, std::int64_t now_ms) {
  insert_run_.Bind(1, extractor).Bind(2, SqliteUtc(now_ms)).Bind(3, FormatJobId(job.seq));
  insert_run_.Bind(4, static_cast<std::int64_t>(job.attempt)).BindOptional(5, source).BindOptional(6, url);
  return insert_run_.Run();
}

std::optional<ExtractRuns::StoredCursor> ExtractRuns::LookUpCursor(std::string_view source, std::string_view key) {
  std::optional<StoredCursor> out;
  get_cursor_.Bind(1, source).Bind(2, key);
  if (get_cursor_.Step() == SQLITE_ROW) {
    StoredCursor c;
    c.etag = get_cursor_.Text(0);
    c.last_modified = get_cursor_.Text(1);
    if (!get_cursor_.IsNull(2)) c.cursor = std::string(get_cursor_.Text(2));
    if (c.cursor || !c.etag.empty() || !c.last_modified.empty()) out = std::move(c);
  }
  get_cursor_.Reset();
  return out;
}

Status ExtractRuns::RecordEnd(const Job& job, std::string_view source, Outcome outcome, std::string_view error,
                              const ExtractionReport* report, std::int64_t now_ms) {
  static const ExtractionReport kNone;
  const ExtractionReport& r = report != nullptr ? *report : kNone;
  const bool success = outcome == Outcome::kSucceeded;
  std::string why(error);
  if (!success && why.empty()) why = std::string(OutcomeName(outcome));
  finish_run_.Bind(1, FormatJobId(job.seq)).Bind(2, static_cast<std::int64_t>(job.attempt));
  finish_run_.Bind(3, SqliteUtc(now_ms)).Bind(4, success ? "success" : "failed");
  finish_run_.Bind(5, r.files_written).Bind(6, r.files_skipped).Bind(7, r.bytes_written);
  finish_run_.BindOptional(8, r.cursor_value);
  finish_run_.BindOptional(9, success ? std::string() : why);
  finish_run_.BindOptional(10, r.url);
  Status s = finish_run_.Run();
  if (!s.ok() || !success) return s;
  if (metrics_ != nullptr) {
    const std::string src(source);
    metrics_->Add("sluice_extract_files_total", {{"source", src}, {"result", "written"}},
                  static_cast<double>(std::max<std::int64_t>(0, r.files_written)));
    metrics_->Add("sluice_extract_files_total", {{"source", src}, {"result", "skipped"}},
                  static_cast<double>(std::max<std::int64_t>(0, r.files_skipped)));
    metrics_->Add("sluice_extract_bytes_total", {{"source", src}},
                  static_cast<double>(std::max<std::int64_t>(0, r.bytes_written)));
  }
  // A string cursor, or HTTP validators (which belong to a URL: a key).
  if (r.cursor) {
    put_cursor_.Bind(1, source).Bind(2, r.key).BindNull(3).BindNull(4).Bind(5, *r.cursor);
  } else if (!r.key.empty() && (!r.etag.empty() || !r.last_modified.empty())) {
    put_cursor_.Bind(1, source).Bind(2, r.key).BindOptional(3, r.etag).BindOptional(4, r.last_modified);
    put_cursor_.BindNull(5);
  } else {
    return Status::Ok();
  }
  put_cursor_.Bind(6, SqliteUtc(now_ms));
  return put_cursor_.Run();
}

Status ExtractRuns::OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) {
  msgpack::object_handle h;
  *params_out = job.params;
  if (!Unpack(job.params, &h)) return Status::Ok();  // the worker will reject it
  const msgpack::object& params = h.get();
  const std::string source = StrField(params, "source");
  const std::string url = StrField(params, "url");
  std::string extractor = StrField(params, "extractor");
  if (extractor.empty()) extractor = source.empty() ? std::string(kExtractKind) : source;

  // The logical period: the job's, or, when it has none, today (UTC), sent
  // as its date so that the worker fetches the URL the cursor is looked up
  // by (both resolve it with ResolveExtractUrl).
  std::string date = StrField(params, "date");
  const bool add_date = date.empty();
  const PeriodUnit unit = ParsePeriodUnit(StrField(params, "period")).value_or(PeriodUnit::kMonth);
  if (add_date) date = FormatPeriod(PeriodAt(now_ms, PeriodUnit::kDay));
  const std::optional<ExtractUrl> first = ResolveExtractUrl(url, date, unit, now_ms);
  const std::string expanded = first ? first->url : url;

  // extract.http sends validators only: a string cursor stored under its
  // (source, URL) by another extractor is not one of its own.
  std::optional<StoredCursor> cursor = LookUpCursor(source, expanded);
  if (cursor && cursor->cursor) cursor.reset();

  Status s = RecordStart(job, extractor, source, expanded, now_ms);
  if (!s.ok()) return s;
  // The params as sent: the original entries (minus any stale cursor), plus
  // date when missing and the cursor when known.
  PackParams(params, add_date ? &date : nullptr, cursor ? &*cursor : nullptr, /*strip_cursor=*/true, params_out);
  return Status::Ok();
}

Status ExtractRuns::OnEnd(const Job& job, Outcome outcome, std::string_view error,
                          std::string_view outputs, std::int64_t now_ms) {
  msgpack::object_handle h;
  msgpack::object none;
  const msgpack::object& out = Unpack(outputs, &h) ? h.get() : none;
  const std::string url = StrField(out, "url");
  std::optional<ExtractionReport> report = ReadExtractionReport(out, url);
  if (!report) report = LegacyHttpReport(out);
  msgpack::object_handle ph;
  const std::string source = Unpack(job.params, &ph) ? StrField(ph.get(), "source") : std::string();
  return RecordEnd(job, source, outcome, error, &*report, now_ms);
}

// ---- custom extractions ------------------------------------------------------------------

namespace {

// Whether `params` may mark an extraction, without decoding them: every
// other job of a custom kind passes with this one search.
bool MayBeExtraction(std::string_view params) { return params.find("extraction") != std::string_view::npos; }

}  // namespace

void CustomExtractionHooks::DefaultConcurrency(std::string_view params, std::string* key,
                                               std::uint32_t* limit) const {
  msgpack::object_handle h;
  std::string source, cursor_key;
  if (!MayBeExtraction(params) || !Unpack(params, &h) || !IsCustomExtraction(h.get(), &source, &cursor_key)) return;
  // The kind is not in the params: the lifecycle asks before it knows the
  // job. Jobs of one source share "extraction:<source>".
  SourceConcurrency("extraction", h.get(), source, key, limit);
}

Status CustomExtractionHooks::OnDispatch(const Job& job, std::int64_t now_ms, std::string* params_out) {
  msgpack::object_handle h;
  std::string source, cursor_key;
  if (!MayBeExtraction(job.params) || !Unpack(job.params, &h) || !IsCustomExtraction(h.get(), &source, &cursor_key)) {
    *params_out = job.params;
    return Status::Ok();
  }
  const msgpack::object& params = h.get();
  std::string extractor = StrField(params, "extractor");
  if (extractor.empty()) extractor = job.kind;
  std::optional<ExtractRuns::StoredCursor> cursor = runs_->LookUpCursor(source, cursor_key);
  Status s = runs_->RecordStart(job, extractor, source, cursor_key, now_ms);
  if (!s.ok()) return s;
  // A `cursor` submitted with the job is its first cursor: a stored one
  // replaces it.
  PackParams(params, nullptr, cursor ? &*cursor : nullptr, /*strip_cursor=*/false, params_out);
  return Status::Ok();
}

Status CustomExtractionHooks::OnEnd(const Job& job, Outcome outcome, std::string_view error,
                                    std::string_view outputs, std::int64_t now_ms) {
  msgpack::object_handle ph;
  std::string source, cursor_key;
  if (!MayBeExtraction(job.params) || !Unpack(job.params, &ph) || !IsCustomExtraction(ph.get(), &source, &cursor_key))
    return Status::Ok();
  msgpack::object_handle h;
  msgpack::object none;
  const msgpack::object& out = Unpack(outputs, &h) ? h.get() : none;
  std::optional<ExtractionReport> report = ReadExtractionReport(out, cursor_key);
  return runs_->RecordEnd(job, source, outcome, error, report ? &*report : nullptr, now_ms);
}

Result<std::vector<proto::ExtractionRow>> ExtractRuns::Recent(Database& db, const std::string& source,
                                                              std::int64_t limit) {
  auto st = db.Prepare(
      "SELECT run_id, extractor, started_at, finished_at, status, files_written, files_skipped, "
      "bytes_written, cursor_value, error_message, job_id, attempt, source, url "
      "FROM extraction_runs WHERE (?1 = '' OR source = ?1) ORDER BY run_id DESC LIMIT ?2");
  if (!st.ok()) return st.status();
  st->Bind(1, source).Bind(2, limit);
  std::vector<proto::ExtractionRow> out;
  auto text = [&](int c) { return st->IsNull(c) ? std::nullopt : std::optional<std::string>(st->Text(c)); };
  int rc;
  while ((rc = st->Step()) == SQLITE_ROW) {
    proto::ExtractionRow x;
    x.run_id = st->Int(0);
    x.extractor = text(1);
    x.started_at = text(2);
    x.finished_at = text(3);
    x.status = text(4);
    x.files_written = st->Int(5);
    x.files_skipped = st->Int(6);
    x.bytes_written = st->Int(7);
    x.cursor_value = text(8);
    x.error_message = text(9);
    x.job_id = text(10);
    x.attempt = st->Int(11);
    x.source = text(12);
    x.url = text(13);
    out.push_back(std::move(x));
  }
  if (rc != SQLITE_DONE) return Status::IOError(st->error());
  return out;
}

}  // namespace sluice::broker
