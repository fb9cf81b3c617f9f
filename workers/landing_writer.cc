#include "workers/landing_writer.h"

#include <cctype>

#include "workers/landing_names.h"

namespace sluice::worker {
namespace {

// `value` lowercased, without parameters (";...") and surrounding blanks.
std::string Token(std::string_view value) {
  if (std::size_t semi = value.find(';'); semi != std::string_view::npos) value = value.substr(0, semi);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  std::string out(value);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

LandingWriter::LandingWriter(LandingPartition* partition, Naming naming, std::string url, std::string ext)
    : partition_(partition), naming_(naming), url_(std::move(url)), ext_(std::move(ext)) {}

LandingWriter::~LandingWriter() = default;  // an unpublished temp file is deleted

bool LandingWriter::Fail(Stop why, Status status) {
  stop_ = why;
  stop_status_ = std::move(status);
  temp_.reset();
  return false;
}

bool LandingWriter::Begin(const HttpResponseHead& head) {
  begun_ = true;
  const std::string encoding = Token(head.content_encoding);
  const std::string type = Token(head.content_type);
  if (encoding == "gzip" || encoding == "x-gzip") {
    declared_gzip_ = true;
  } else if (!encoding.empty() && encoding != "identity") {
    return Fail(Stop::kBadEncoding,
                Status::InvalidArgument("unsupported Content-Encoding " + Quoted(head.content_encoding) +
                                        " (only gzip is stored; do not send Accept-Encoding for others)"));
  }
  if (type == "application/gzip" || type == "application/x-gzip") declared_gzip_ = true;

  if (naming_ != Naming::kHash) {
    std::string stem = EtagStem(url_, head.etag);
    if (stem.empty() && naming_ == Naming::kEtag)
      return Fail(Stop::kNoEtag, Status::InvalidArgument(
                                     "dedup = etag, but the response has no ETag (use dedup auto or hash)"));
    if (!stem.empty()) {
      name_ = stem + "." + ext_ + ".gz";
      Result<bool> exists = partition_->Exists(name_);
      if (!exists.ok()) return Fail(Stop::kIoError, exists.status());
      if (exists.value()) return Fail(Stop::kAlreadyLanded, Status::Ok());
    }
  }
  Result<std::unique_ptr<TempFile>> temp = partition_->CreateTemp();
  if (!temp.ok()) return Fail(Stop::kIoError, temp.status());
  temp_ = std::move(temp.value());
  return true;
}

Status LandingWriter::DecideMode() {
  mode_known_ = true;
  as_is_ = declared_gzip_ || HasGzipMagic(sniff_);
  if (as_is_) {
    verifier_ = std::make_unique<GzipVerifier>();
  } else {
    deflater_ = std::make_unique<GzipDeflater>();
  }
  std::string pending;
  pending.swap(sniff_);
  return Store(pending);
}

Status LandingWriter::Store(std::string_view bytes) {
  if (bytes.empty()) return Status::Ok();
  sha_.Update(bytes);
  if (!as_is_) return deflater_->Write(bytes, [this](std::string_view out) { return temp_->Write(out); });
  if (Status st = verifier_->Feed(bytes); !st.ok()) return st;
  return temp_->Write(bytes);
}

bool LandingWriter::OnBody(const HttpResponseHead& head, std::string_view chunk) {
  if (stop_ != Stop::kNone) return false;
  if (!begun_ && !Begin(head)) return false;
  Status st;
  if (!mode_known_) {
    const std::size_t need = 2 - sniff_.size();
    sniff_.append(chunk.substr(0, need));
    chunk.remove_prefix(std::min(need, chunk.size()));
    if (sniff_.size() < 2) return true;
    st = DecideMode();
  }
  if (st.ok()) st = Store(chunk);
  if (st.ok()) return true;
  return Fail(st.code() == Code::kCorruption ? Stop::kCorrupt : Stop::kIoError, st);
}

Result<Landed> LandingWriter::Finish(const HttpResponseHead& head) {
  if (stop_ != Stop::kNone) return stop_status_.ok() ? Status::Internal("landing: stopped") : stop_status_;
  Landed landed;
  if (!begun_ && !Begin(head)) {
    if (stop_ == Stop::kAlreadyLanded) {
      landed.name = name_;
      return landed;
    }
    return stop_status_;
  }
  Status st;
  if (!mode_known_) st = DecideMode();
  if (st.ok()) {
    if (as_is_) {
      st = verifier_->Finish();
    } else {
      st = deflater_->Finish([this](std::string_view out) { return temp_->Write(out); });
    }
  }
  if (!st.ok()) {
    Fail(st.code() == Code::kCorruption ? Stop::kCorrupt : Stop::kIoError, st);
    return st;
  }
  landed.sha256 = sha_.FinishHex();
  if (name_.empty()) name_ = ContentStem(landed.sha256) + "." + ext_ + ".gz";
  landed.name = name_;
  const std::uint64_t size = temp_->size();
  Result<bool> published = partition_->Publish(temp_.get(), name_);
  temp_.reset();  // deletes it unless published
  if (!published.ok()) return published.status();
  landed.written = published.value();
  landed.bytes_written = landed.written ? size : 0;
  return landed;
}

}  // namespace sluice::worker
