#include "schemas/s3_client.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "schemas/curl_wrapper.h"
#include "schemas/s3_url.h"
#include "schemas/s3_xml.h"

namespace sluice::s3 {
namespace {

// Reply bodies kept in memory (errors, listings, upload ids): more is cut.
constexpr std::size_t kMaxReplyBytes = std::size_t{8} << 20;
// What an error message quotes of the store's message.
constexpr std::size_t kMaxQuoted = 400;
// S3's multipart limits.
constexpr std::uint64_t kMinPartSize = std::uint64_t{5} << 20;
constexpr std::uint64_t kMaxParts = 10'000;
constexpr std::string_view kEmptySha256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

std::string Hex(const unsigned char* bytes, unsigned int n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(static_cast<std::size_t>(n) * 2, '0');
  for (unsigned int i = 0; i < n; ++i) {
    out[2 * i] = kHex[bytes[i] >> 4];
    out[2 * i + 1] = kHex[bytes[i] & 0xF];
  }
  return out;
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &n, EVP_sha256(), nullptr);
  return Hex(md, n);
}

// SHA-256 of `length` bytes of `fd` from `offset`, read with pread.
Result<std::string> Sha256OfRegion(int fd, std::uint64_t offset, std::uint64_t length) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) return Status::Internal("EVP_sha256 failed");
  std::vector<char> buf(static_cast<std::size_t>(std::clamp<std::uint64_t>(length, 1, 256 * 1024)));
  std::uint64_t done = 0;
  while (done < length) {
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), length - done));
    const ssize_t n = ::pread(fd, buf.data(), want, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IOError(std::string("reading the file to upload: ") + std::strerror(errno));
    if (n == 0) return Status::IOError("the file to upload is shorter than its size");
    EVP_DigestUpdate(ctx.get(), buf.data(), static_cast<std::size_t>(n));
    done += static_cast<std::uint64_t>(n);
  }
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_DigestFinal_ex(ctx.get(), md, &n);
  return Hex(md, n);
}

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return std::string(s);
}

std::string Unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

// The pieces of one request (named, not anonymous: Client::Impl holds them).
namespace request {

// Where a request body comes from: memory or a region of a file.
struct Body {
  std::string_view memory;
  int fd = -1;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::uint64_t pos = 0;
  Status read_error;
};

struct Reply {
  long status = 0;
  std::string body;  // at most kMaxReplyBytes (not the body a sink took)
  std::string etag;
  std::string last_modified;
  std::uint64_t content_length = 0;
};

// One request as the operations describe it.
struct Call {
  const char* method = "GET";  // GET HEAD PUT POST DELETE
  std::string_view bucket;
  std::string_view key;
  QueryParams query;
  std::vector<std::string> headers;  // extra "Name: value" lines
  bool upload = false;               // PUT/POST with `body`
  Body body;
  std::string payload_sha256;  // the body's hex SHA-256
  const BodySink* sink = nullptr;  // a 2xx body goes here instead of Reply::body
};

}  // namespace request

using request::Body;
using request::Call;
using request::Reply;

struct Client::Impl {
  Config config;
  std::function<bool()> stop;
  curl::Easy easy;
  char error_buffer[CURL_ERROR_SIZE] = {0};
  std::mt19937_64 rng{std::random_device{}()};

  // Per attempt.
  Reply reply;
  Call* call = nullptr;
  bool sink_took_bytes = false;
  Status sink_error;

  explicit Impl(Config c) : config(std::move(c)) {
    curl::GlobalInit();
    easy = curl::MakeEasy();
  }

  bool Stopped() const { return stop && stop(); }

  std::string Where(const Call& c) const {
    std::string out = std::string(c.method) + " s3://" + std::string(c.bucket);
    if (!c.key.empty()) out += "/" + std::string(c.key);
    return out;
  }

  // The store's message, cut, with anything secret blanked out.
  std::string Scrub(std::string text) const {
    if (text.size() > kMaxQuoted) text = text.substr(0, kMaxQuoted) + "...";
    for (const std::string* secret : {&config.secret_access_key, &config.session_token}) {
      if (secret->size() < 4) continue;
      for (std::size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at))
        text.replace(at, secret->size(), "(redacted)");
    }
    for (char& ch : text)
      if (static_cast<unsigned char>(ch) < 0x20) ch = ' ';
    return text;
  }

  // A Status for a final non-2xx reply.
  Status ErrorFor(const Call& c, const Reply& r) const {
    const std::string code = xml::Text(r.body, "Code").value_or("");
    const std::string message = xml::Text(r.body, "Message").value_or("");
    std::string text = "s3 " + Where(c) + ": HTTP " + std::to_string(r.status);
    if (!code.empty()) text += " " + Scrub(code);
    if (!message.empty()) text += ": " + Scrub(message);
    text += " (" + config.Describe() + ")";
    if (r.status == 404) return Status::NotFound(text);
    if (r.status == 429 || r.status >= 500) return Status::Unavailable(text);
    return Status::InvalidArgument(text);
  }

  static std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::string_view line(data, size * n);
    if (StartsWithNoCase(line, "HTTP/")) {
      self->reply.etag.clear();  // a new response (after a 100 Continue)
      self->reply.last_modified.clear();
      self->reply.content_length = 0;
    } else if (StartsWithNoCase(line, "etag:")) {
      self->reply.etag = Unquote(Trim(line.substr(5)));
    } else if (StartsWithNoCase(line, "last-modified:")) {
      self->reply.last_modified = Trim(line.substr(14));
    } else if (StartsWithNoCase(line, "content-length:")) {
      self->reply.content_length = std::strtoull(Trim(line.substr(15)).c_str(), nullptr, 10);
    }
    return size * n;
  }

  static std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
    auto* self = static_cast<Impl*>(user);
    const std::size_t bytes = size * n;
    long status = 0;
    curl_easy_getinfo(self->easy.get(), CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300 && self->call->sink != nullptr) {
      self->sink_took_bytes = true;
      Status st = (*self->call->sink)(std::string_view(data, bytes));
      if (!st.ok()) {
        self->sink_error = std::move(st);
        return 0;  // CURLE_WRITE_ERROR
      }
      return bytes;
    }
    const std::size_t room = kMaxReplyBytes - std::min(kMaxReplyBytes, self->reply.body.size());
    self->reply.body.append(data, std::min(room, bytes));
    return bytes;
  }

  static std::size_t OnRead(char* dst, std::size_t size, std::size_t n, void* user) {
    Body& b = static_cast<Impl*>(user)->call->body;
    const std::size_t cap = size * n;
    const std::uint64_t left = b.length - b.pos;
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(cap, left));
    if (want == 0) return 0;
    if (b.fd < 0) {
      std::memcpy(dst, b.memory.data() + b.pos, want);
      b.pos += want;
      return want;
    }
    while (true) {
      const ssize_t got = ::pread(b.fd, dst, want, static_cast<off_t>(b.offset + b.pos));
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        b.read_error = Status::IOError(std::string("reading the file to upload: ") +
                                       (got < 0 ? std::strerror(errno) : "it is shorter than its size"));
        return CURL_READFUNC_ABORT;
      }
      b.pos += static_cast<std::uint64_t>(got);
      return static_cast<std::size_t>(got);
    }
  }

  static int OnSeek(void* user, curl_off_t offset, int origin) {
    Body& b = static_cast<Impl*>(user)->call->body;
    if (origin != SEEK_SET || offset < 0 || static_cast<std::uint64_t>(offset) > b.length) return CURL_SEEKFUNC_FAIL;
    b.pos = static_cast<std::uint64_t>(offset);
    return CURL_SEEKFUNC_OK;
  }

  static int OnProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<Impl*>(user)->Stopped() ? 1 : 0;
  }

  // One attempt. A CURLcode other than OK means no complete reply.
  CURLcode Attempt(Call& c, curl::HeaderList* headers_out) {
    CURL* e = easy.get();
    curl_easy_reset(e);  // keeps the connection cache
    reply = Reply{};
    call = &c;
    c.body.pos = 0;
    c.body.read_error = Status::Ok();
    sink_error = Status::Ok();
    error_buffer[0] = '\0';

    const std::string url = ObjectUrl(config, c.bucket, c.key, CanonicalQuery(c.query));
    std::vector<std::string> lines = c.headers;
    lines.push_back("x-amz-content-sha256: " + c.payload_sha256);
    if (!config.session_token.empty()) lines.push_back("x-amz-security-token: " + config.session_token);
    // No "Expect:" line to suppress 100-continue: libcurl 7.88 signs every
    // custom header, an emptied one too, and then never sends it.
    if (!curl::MakeHeaderList(lines, headers_out)) return CURLE_OUT_OF_MEMORY;
    const std::string sigv4 = "aws:amz:" + config.region + ":s3";

    curl_easy_setopt(e, CURLOPT_URL, url.c_str());
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer);
    curl_easy_setopt(e, CURLOPT_AWS_SIGV4, sigv4.c_str());
    curl_easy_setopt(e, CURLOPT_USERNAME, config.access_key_id.c_str());
    curl_easy_setopt(e, CURLOPT_PASSWORD, config.secret_access_key.c_str());
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers_out->get());
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(config.connect_timeout.count() * 1000));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(config.stall_timeout.count()));
    // An upload asks for 100-continue (see above); a store that never
    // answers it costs this much per request, not libcurl's 1 s.
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 200L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, &Impl::OnHeader);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, this);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &Impl::OnBody);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, &Impl::OnProgress);
    curl_easy_setopt(e, CURLOPT_XFERINFODATA, this);

    const std::string_view method = c.method;
    if (method == "HEAD") {
      curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (method == "PUT") {
      curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
      curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(c.body.length));
      curl_easy_setopt(e, CURLOPT_READFUNCTION, &Impl::OnRead);
      curl_easy_setopt(e, CURLOPT_READDATA, this);
      curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, &Impl::OnSeek);
      curl_easy_setopt(e, CURLOPT_SEEKDATA, this);
    } else if (method == "POST") {
      curl_easy_setopt(e, CURLOPT_POST, 1L);
      curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(c.body.memory.size()));
      curl_easy_setopt(e, CURLOPT_POSTFIELDS, c.body.memory.data());
    } else if (method == "DELETE") {
      curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    const CURLcode code = curl_easy_perform(e);
    if (code == CURLE_OK) curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &reply.status);
    return code;
  }

  // Sleeps before attempt `attempt` + 1, in slices so that the stop
  // function is heard. False when stopped.
  bool Backoff(int attempt, std::uint64_t retry_after_ms) {
    const auto base = std::min<std::int64_t>(config.backoff_max.count(),
                                             config.backoff_initial.count() << std::min(attempt - 1, 20));
    std::uniform_int_distribution<std::int64_t> jitter(base / 2, std::max<std::int64_t>(base / 2, base));
    std::int64_t wait_ms = jitter(rng);
    wait_ms = std::max<std::int64_t>(wait_ms, static_cast<std::int64_t>(std::min<std::uint64_t>(retry_after_ms, 60'000)));
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
    while (std::chrono::steady_clock::now() < until) {
      if (Stopped()) return false;
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          std::chrono::milliseconds(50), until - std::chrono::steady_clock::now()));
    }
    return !Stopped();
  }

  // Runs `c` with retries. Returns the reply of the last attempt when the
  // store answered (any status that is not retried, or a retried one on
  // the last attempt); a Status when it never answered or was stopped.
  Result<Reply> Send(Call& c) {
    if (!easy) return Status::Internal("libcurl could not make a handle");
    const int attempts = std::max(1, config.max_attempts);
    std::string last_failure;
    for (int attempt = 1;; ++attempt) {
      if (Stopped()) return Status::Unavailable("s3 " + Where(c) + ": stopped");
      sink_took_bytes = false;
      curl::HeaderList headers;
      const CURLcode code = Attempt(c, &headers);
      if (!c.body.read_error.ok()) return c.body.read_error;
      if (!sink_error.ok()) return sink_error;
      bool retry = false;
      std::uint64_t retry_after_ms = 0;
      if (code == CURLE_ABORTED_BY_CALLBACK) return Status::Unavailable("s3 " + Where(c) + ": stopped");
      if (code != CURLE_OK) {
        last_failure = curl::ErrorText(code, error_buffer);
        if (curl::IsPermanent(code))
          return Status::InvalidArgument("s3 " + Where(c) + ": " + last_failure + " (" + config.Describe() + ")");
        retry = true;
      } else if (reply.status == 429 || reply.status >= 500) {
        retry = true;
        retry_after_ms = curl::RetryAfterMs(easy.get());
        if (attempt >= attempts) return std::move(reply);
      } else {
        return std::move(reply);
      }
      if (retry && sink_took_bytes)
        return Status::Unavailable("s3 " + Where(c) + ": the download broke off after it began" +
                                   (last_failure.empty() ? std::string() : ": " + last_failure) + " (" +
                                   config.Describe() + ")");
      if (attempt >= attempts)
        return Status::Unavailable("s3 " + Where(c) + ": " + last_failure + ", " + std::to_string(attempts) +
                                   " attempts (" + config.Describe() + ")");
      if (!Backoff(attempt, retry_after_ms)) return Status::Unavailable("s3 " + Where(c) + ": stopped");
    }
  }

  // Send, then a Status for any reply that is not 2xx.
  Result<Reply> SendOk(Call& c) {
    Result<Reply> r = Send(c);
    if (!r.ok()) return r;
    if (r->status < 200 || r->status >= 300) return ErrorFor(c, r.value());
    return r;
  }

  Result<PutOutcome> PutRegion(std::string_view bucket, std::string_view key, Body body, const PutOptions& options) {
    Call c;
    c.method = "PUT";
    c.bucket = bucket;
    c.key = key;
    c.upload = true;
    c.body = body;
    if (body.fd >= 0) {
      Result<std::string> sha = Sha256OfRegion(body.fd, body.offset, body.length);
      if (!sha.ok()) return sha.status();
      c.payload_sha256 = std::move(sha).value();
    } else {
      c.payload_sha256 = Sha256Hex(body.memory);
    }
    c.headers.push_back("Content-Type: " + options.content_type);
    if (options.if_absent) c.headers.emplace_back("If-None-Match: *");
    Result<Reply> r = Send(c);
    if (!r.ok()) return r.status();
    if (options.if_absent && r->status == 412) return PutOutcome::kExists;
    if (r->status < 200 || r->status >= 300) return ErrorFor(c, r.value());
    return PutOutcome::kCreated;
  }

  Result<PutOutcome> PutMultipart(std::string_view bucket, std::string_view key, int fd, std::uint64_t size,
                                  const PutOptions& options) {
    std::uint64_t part_size = std::max(kMinPartSize, config.part_size);
    part_size = std::max(part_size, (size + kMaxParts - 1) / kMaxParts);

    Call create;
    create.method = "POST";
    create.bucket = bucket;
    create.key = key;
    create.query = {{"uploads", ""}};
    create.payload_sha256 = std::string(kEmptySha256);
    create.headers.push_back("Content-Type: " + options.content_type);
    Result<Reply> created = SendOk(create);
    if (!created.ok()) return created.status();
    const std::string upload_id = xml::Text(created->body, "UploadId").value_or("");
    if (upload_id.empty())
      return Status::Unavailable("s3 " + Where(create) + ": the store's reply has no UploadId (" +
                                 config.Describe() + ")");

    Result<PutOutcome> outcome = UploadParts(bucket, key, fd, size, part_size, upload_id, options);
    if (!outcome.ok() || outcome.value() == PutOutcome::kExists) {
      Call abort;
      abort.method = "DELETE";
      abort.bucket = bucket;
      abort.key = key;
      abort.query = {{"uploadId", upload_id}};
      abort.payload_sha256 = std::string(kEmptySha256);
      auto saved_stop = std::move(stop);  // abort even when stopping
      stop = nullptr;
      const int saved_attempts = config.max_attempts;
      config.max_attempts = std::min(saved_attempts, 2);
      (void)Send(abort);  // best effort: an unaborted upload stays invisible
      config.max_attempts = saved_attempts;
      stop = std::move(saved_stop);
    }
    return outcome;
  }

  Result<PutOutcome> UploadParts(std::string_view bucket, std::string_view key, int fd, std::uint64_t size,
                                 std::uint64_t part_size, const std::string& upload_id, const PutOptions& options) {
    std::string complete = "<CompleteMultipartUpload>";
    std::uint64_t offset = 0;
    for (std::uint64_t number = 1; offset < size; ++number) {
      Call part;
      part.method = "PUT";
      part.bucket = bucket;
      part.key = key;
      part.upload = true;
      part.query = {{"partNumber", std::to_string(number)}, {"uploadId", upload_id}};
      part.body.fd = fd;
      part.body.offset = offset;
      part.body.length = std::min(part_size, size - offset);
      Result<std::string> sha = Sha256OfRegion(fd, part.body.offset, part.body.length);
      if (!sha.ok()) return sha.status();
      part.payload_sha256 = std::move(sha).value();
      Result<Reply> r = SendOk(part);
      if (!r.ok()) return r.status();
      if (r->etag.empty())
        return Status::Unavailable("s3 " + Where(part) + ": part " + std::to_string(number) +
                                   " was answered without an ETag (" + config.Describe() + ")");
      complete += "<Part><PartNumber>" + std::to_string(number) + "</PartNumber><ETag>" +
                  xml::Escape("\"" + r->etag + "\"") + "</ETag></Part>";
      offset += part.body.length;
    }
    complete += "</CompleteMultipartUpload>";

    Call done;
    done.method = "POST";
    done.bucket = bucket;
    done.key = key;
    done.query = {{"uploadId", upload_id}};
    done.body.memory = complete;
    done.body.length = complete.size();
    done.payload_sha256 = Sha256Hex(complete);
    done.headers.emplace_back("Content-Type: application/xml");
    if (options.if_absent) done.headers.emplace_back("If-None-Match: *");
    Result<Reply> r = Send(done);
    if (!r.ok()) return r.status();
    if (options.if_absent && r->status == 412) return PutOutcome::kExists;
    if (r->status < 200 || r->status >= 300) return ErrorFor(done, r.value());
    // S3 may answer 200 and still fail the completion, in the body.
    if (xml::Text(r->body, "Code").has_value() && !xml::Text(r->body, "ETag").has_value()) {
      Reply failed = r.value();
      failed.status = 500;
      return ErrorFor(done, failed);
    }
    return PutOutcome::kCreated;
  }
};

Client::Client(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Client::~Client() = default;

const Config& Client::config() const { return impl_->config; }

void Client::SetStop(std::function<bool()> stop) { impl_->stop = std::move(stop); }

Result<ObjectInfo> Client::Head(std::string_view bucket, std::string_view key) {
  Call c;
  c.method = "HEAD";
  c.bucket = bucket;
  c.key = key;
  c.payload_sha256 = std::string(kEmptySha256);
  Result<Reply> r = impl_->Send(c);
  if (!r.ok()) return r.status();
  if (r->status >= 400 && r->status < 500 && r->status != 404) {
    // A HEAD reply has no body, so no error code: ask the same with a GET
    // of one byte, whose refusal says why (SignatureDoesNotMatch, ...).
    Call why = c;
    why.method = "GET";
    why.headers.emplace_back("Range: bytes=0-0");
    Result<Reply> told = impl_->Send(why);
    if (told.ok() && told->status == r->status && !told->body.empty()) return impl_->ErrorFor(c, told.value());
  }
  if (r->status < 200 || r->status >= 300) return impl_->ErrorFor(c, r.value());
  ObjectInfo info;
  info.key = std::string(key);
  info.size = r->content_length;
  info.etag = r->etag;
  info.last_modified = r->last_modified;
  return info;
}

Status Client::Get(std::string_view bucket, std::string_view key, const BodySink& sink) {
  Call c;
  c.method = "GET";
  c.bucket = bucket;
  c.key = key;
  c.payload_sha256 = std::string(kEmptySha256);
  c.sink = &sink;
  Result<Reply> r = impl_->SendOk(c);
  return r.ok() ? Status::Ok() : r.status();
}

Result<PutOutcome> Client::PutFile(std::string_view bucket, std::string_view key, int fd, std::uint64_t size,
                                   const PutOptions& options) {
  if (size >= impl_->config.multipart_threshold) return impl_->PutMultipart(bucket, key, fd, size, options);
  Body body;
  body.fd = fd;
  body.length = size;
  return impl_->PutRegion(bucket, key, body, options);
}

Result<PutOutcome> Client::PutBytes(std::string_view bucket, std::string_view key, std::string_view bytes,
                                    const PutOptions& options) {
  Body body;
  body.memory = bytes;
  body.length = bytes.size();
  return impl_->PutRegion(bucket, key, body, options);
}

Result<ListPage> Client::ListOnePage(std::string_view bucket, std::string_view prefix, std::string_view token,
                                     int max_keys) {
  Call c;
  c.method = "GET";
  c.bucket = bucket;
  c.query = {{"list-type", "2"}, {"max-keys", std::to_string(std::clamp(max_keys, 1, 1000))}};
  if (!prefix.empty()) c.query.emplace_back("prefix", std::string(prefix));
  if (!token.empty()) c.query.emplace_back("continuation-token", std::string(token));
  c.payload_sha256 = std::string(kEmptySha256);
  Result<Reply> r = impl_->SendOk(c);
  if (!r.ok()) return r.status();
  ListPage page;
  for (const std::string_view entry : xml::Elements(r->body, "Contents", 1000)) {
    ObjectInfo info;
    info.key = xml::Text(entry, "Key").value_or("");
    info.size = std::strtoull(xml::Text(entry, "Size").value_or("0").c_str(), nullptr, 10);
    info.etag = Unquote(xml::Text(entry, "ETag").value_or(""));
    info.last_modified = xml::Text(entry, "LastModified").value_or("");
    if (!info.key.empty()) page.objects.push_back(std::move(info));
  }
  if (xml::Text(r->body, "IsTruncated").value_or("false") == "true") {
    page.next_token = xml::Text(r->body, "NextContinuationToken").value_or("");
    if (page.next_token.empty())
      return Status::Unavailable("s3 " + impl_->Where(c) +
                                 ": a truncated listing without a NextContinuationToken (" +
                                 impl_->config.Describe() + ")");
  }
  return page;
}

Result<std::vector<ObjectInfo>> Client::List(std::string_view bucket, std::string_view prefix,
                                             std::size_t max_objects) {
  std::vector<ObjectInfo> all;
  std::string token;
  do {
    Result<ListPage> page = ListOnePage(bucket, prefix, token);
    if (!page.ok()) return page.status();
    for (ObjectInfo& info : page->objects) all.push_back(std::move(info));
    if (all.size() > max_objects)
      return Status::InvalidArgument("s3 listing of s3://" + std::string(bucket) + "/" + std::string(prefix) +
                                     ": more than " + std::to_string(max_objects) + " objects");
    token = std::move(page->next_token);
  } while (!token.empty());
  return all;
}

Status Client::Delete(std::string_view bucket, std::string_view key) {
  Call c;
  c.method = "DELETE";
  c.bucket = bucket;
  c.key = key;
  c.payload_sha256 = std::string(kEmptySha256);
  Result<Reply> r = impl_->SendOk(c);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace sluice::s3
