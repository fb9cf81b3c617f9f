#include "broker/extract_runs.h"

#include <algorithm>

#include <msgpack.hpp>

#include "pipeline/extract_url.h"
#include "pipeline/period.h"
#include "schemas/job_id.h"
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

}  // namespace

void DefaultExtractConcurrency(std::string_view params, std::string* key, std::uint32_t* limit) {
  msgpack::object_handle h;
  if (!Unpack(params, &h)) return;
  std::string source = StrField(h.get(), "source");
  if (source.empty()) return;
  *key = std::string(kExtractKind) + ":" + source;
  std::int64_t l = IntField(h.get(), "concurrency_limit");
  *limit = l > 0 && l <= proto::kMaxConcurrencyLimit ? static_cast<std::uint32_t>(l) : 4;
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
      {&get_cursor_, "SELECT etag, last_modified FROM extract_cursors WHERE source=?1 AND url=?2"},
      {&put_cursor_,
       "INSERT INTO extract_cursors(source, url, etag, last_modified, updated_at) "
       "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT(source, url) DO UPDATE SET "
       "etag=excluded.etag, last_modified=excluded.last_modified, updated_at=excluded.updated_at"},
  };
  for (const auto& p : all) {
    auto r = db.Prepare(p.sql);
    if (!r.ok()) return r.status();
    *p.st = std::move(r).value();
  }
  return Status::Ok();
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

  std::string etag, last_modified;
  get_cursor_.Bind(1, source).Bind(2, expanded);
  if (get_cursor_.Step() == SQLITE_ROW) {
    etag = get_cursor_.Text(0);
    last_modified = get_cursor_.Text(1);
  }
  get_cursor_.Reset();

  insert_run_.Bind(1, extractor).Bind(2, SqliteUtc(now_ms)).Bind(3, FormatJobId(job.seq));
  insert_run_.Bind(4, static_cast<std::int64_t>(job.attempt)).BindOptional(5, source).BindOptional(6, expanded);
  Status s = insert_run_.Run();
  if (!s.ok()) return s;

  // The params as sent: the original entries (minus any stale cursor), plus
  // date when missing and the cursor when known.
  const auto& m = params.via.map;
  std::uint32_t n = 0;
  for (std::uint32_t i = 0; i < m.size; ++i)
    if (!(m.ptr[i].key.type == msgpack::type::STR &&
          std::string_view(m.ptr[i].key.via.str.ptr, m.ptr[i].key.via.str.size) == "cursor"))
      ++n;
  const bool has_cursor = !etag.empty() || !last_modified.empty();
  params_out->clear();
  Sink sink{params_out};
  msgpack::packer<Sink> pk(sink);
  pk.pack_map(n + (add_date ? 1 : 0) + (has_cursor ? 1 : 0));
  for (std::uint32_t i = 0; i < m.size; ++i) {
    const auto& kv = m.ptr[i];
    if (kv.key.type == msgpack::type::STR && std::string_view(kv.key.via.str.ptr, kv.key.via.str.size) == "cursor")
      continue;
    pk.pack(kv.key);
    pk.pack(kv.val);
  }
  if (add_date) {
    pk.pack(std::string("date"));
    pk.pack(date);
  }
  if (has_cursor) {
    pk.pack(std::string("cursor"));
    pk.pack_map(2);
    pk.pack(std::string("etag"));
    pk.pack(etag);
    pk.pack(std::string("last_modified"));
    pk.pack(last_modified);
  }
  return Status::Ok();
}

Status ExtractRuns::OnEnd(const Job& job, Outcome outcome, std::string_view error,
                          std::string_view outputs, std::int64_t now_ms) {
  msgpack::object_handle h;
  msgpack::object none;
  const msgpack::object& out = Unpack(outputs, &h) ? h.get() : none;
  const bool success = outcome == Outcome::kSucceeded;
  std::string why(error);
  if (!success && why.empty()) why = std::string(OutcomeName(outcome));
  const std::string url = StrField(out, "url");
  finish_run_.Bind(1, FormatJobId(job.seq)).Bind(2, static_cast<std::int64_t>(job.attempt));
  finish_run_.Bind(3, SqliteUtc(now_ms)).Bind(4, success ? "success" : "failed");
  finish_run_.Bind(5, IntField(out, "files_written")).Bind(6, IntField(out, "files_skipped"));
  finish_run_.Bind(7, IntField(out, "bytes_written"));
  finish_run_.BindOptional(8, StrField(out, "cursor_value"));
  finish_run_.BindOptional(9, success ? std::string() : why);
  finish_run_.BindOptional(10, url);
  Status s = finish_run_.Run();
  if (!s.ok() || !success) return s;
  msgpack::object_handle ph;
  std::string source = Unpack(job.params, &ph) ? StrField(ph.get(), "source") : std::string();
  if (metrics_ != nullptr) {
    metrics_->Add("sluice_extract_files_total", {{"source", source}, {"result", "written"}},
                  static_cast<double>(std::max<std::int64_t>(0, IntField(out, "files_written"))));
    metrics_->Add("sluice_extract_files_total", {{"source", source}, {"result", "skipped"}},
                  static_cast<double>(std::max<std::int64_t>(0, IntField(out, "files_skipped"))));
    metrics_->Add("sluice_extract_bytes_total", {{"source", source}},
                  static_cast<double>(std::max<std::int64_t>(0, IntField(out, "bytes_written"))));
  }
  const std::string etag = StrField(out, "etag"), last_modified = StrField(out, "last_modified");
  if (url.empty() || (etag.empty() && last_modified.empty())) return Status::Ok();
  put_cursor_.Bind(1, source).Bind(2, url).BindOptional(3, etag).BindOptional(4, last_modified);
  put_cursor_.Bind(5, SqliteUtc(now_ms));
  return put_cursor_.Run();
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
