#include "workers/gzip_stream.h"

#include <string>
#include <vector>

namespace sluice::worker {
namespace {

constexpr std::size_t kBufferBytes = 64 * 1024;
constexpr int kGzipWindowBits = 15 + 16;  // 32 KiB window, gzip wrapper

Status ZlibError(const char* what, int rc, const z_stream& z) {
  return Status::Internal(std::string("zlib ") + what + ": " +
                          (z.msg != nullptr ? z.msg : ("error " + std::to_string(rc)).c_str()));
}

}  // namespace

bool HasGzipMagic(std::string_view head) {
  return head.size() >= 2 && static_cast<unsigned char>(head[0]) == 0x1f &&
         static_cast<unsigned char>(head[1]) == 0x8b;
}

// zlib's deflate state (~256 KiB of window and hash tables) and the output
// buffer. Each thread keeps a few finished ones for its next GzipDeflater,
// so that they are neither allocated, page-faulted in nor given back to the
// kernel once per file (a landing file is often a few KiB). deflateReset()
// is zlib's deflateEnd + deflateInit without the reallocation: the output is
// the same byte for byte.
struct DeflateCore {
  ~DeflateCore() {
    if (ready) deflateEnd(&z);
  }
  z_stream z{};
  int level = 0;
  bool ready = false;
  char out[kBufferBytes];  // not zeroed: only read where deflate() wrote it
};

namespace {

constexpr std::size_t kPooledCores = 2;

std::vector<std::unique_ptr<DeflateCore>>& CorePool() {
  thread_local std::vector<std::unique_ptr<DeflateCore>> pool;
  return pool;
}

std::unique_ptr<DeflateCore> TakeCore(int level) {
  auto& pool = CorePool();
  for (auto it = pool.begin(); it != pool.end(); ++it) {
    if ((*it)->level != level) continue;
    std::unique_ptr<DeflateCore> core = std::move(*it);
    pool.erase(it);
    if (deflateReset(&core->z) == Z_OK) return core;
    break;  // not reusable: a fresh one
  }
  std::unique_ptr<DeflateCore> core(new DeflateCore);  // default-initialised: the buffer is not zeroed
  core->level = level;
  core->ready = deflateInit2(&core->z, level, Z_DEFLATED, kGzipWindowBits, 8, Z_DEFAULT_STRATEGY) == Z_OK;
  return core;
}

}  // namespace

struct GzipDeflater::State {
  std::unique_ptr<DeflateCore> core;
  bool finished = false;
};

GzipDeflater::GzipDeflater(int level) : s_(std::make_unique<State>()) { s_->core = TakeCore(level); }

GzipDeflater::~GzipDeflater() {
  auto& pool = CorePool();
  if (s_->core->ready && pool.size() < kPooledCores) pool.push_back(std::move(s_->core));
}

Status GzipDeflater::Run(int flush, const ByteSink& out) {
  if (!s_->core->ready) return Status::Internal("zlib deflateInit2 failed");
  if (s_->finished) return Status::Internal("gzip stream already finished");
  z_stream& z = s_->core->z;
  char* const buffer = s_->core->out;
  while (true) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = kBufferBytes;
    int rc = deflate(&z, flush);
    if (rc == Z_STREAM_ERROR) return ZlibError("deflate", rc, z);
    std::size_t produced = kBufferBytes - z.avail_out;
    if (produced > 0) {
      Status st = out(std::string_view(buffer, produced));
      if (!st.ok()) return st;
    }
    if (flush == Z_FINISH) {
      if (rc == Z_STREAM_END) {
        s_->finished = true;
        return Status::Ok();
      }
    } else if (z.avail_in == 0 && z.avail_out != 0) {
      return Status::Ok();
    }
  }
}

Status GzipDeflater::Write(std::string_view in, const ByteSink& out) {
  // zlib counts in uInt: feed huge inputs in pieces.
  while (!in.empty()) {
    std::size_t n = std::min<std::size_t>(in.size(), 1u << 30);
    s_->core->z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    s_->core->z.avail_in = static_cast<uInt>(n);
    Status st = Run(Z_NO_FLUSH, out);
    if (!st.ok()) return st;
    in.remove_prefix(n);
  }
  return Status::Ok();
}

Status GzipDeflater::Finish(const ByteSink& out) {
  s_->core->z.next_in = nullptr;
  s_->core->z.avail_in = 0;
  return Run(Z_FINISH, out);
}

struct GzipVerifier::State {
  z_stream z{};
  bool ready = false;
  bool in_member = false;    // bytes of an unfinished member were seen
  bool members_done = false; // at least one member ended
  Status error;
  char out[kBufferBytes];
};

GzipVerifier::GzipVerifier() : s_(std::make_unique<State>()) {
  s_->ready = inflateInit2(&s_->z, kGzipWindowBits) == Z_OK;
  if (!s_->ready) s_->error = Status::Internal("zlib inflateInit2 failed");
}

GzipVerifier::~GzipVerifier() {
  if (s_->ready) inflateEnd(&s_->z);
}

Status GzipVerifier::Feed(std::string_view in) {
  if (!s_->error.ok()) return s_->error;
  z_stream& z = s_->z;
  while (!in.empty()) {
    std::size_t n = std::min<std::size_t>(in.size(), 1u << 30);
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z.avail_in = static_cast<uInt>(n);
    while (z.avail_in > 0) {
      s_->in_member = true;
      z.next_out = reinterpret_cast<Bytef*>(s_->out);
      z.avail_out = kBufferBytes;
      int rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        s_->in_member = false;
        s_->members_done = true;
        inflateReset(&z);  // a concatenated member may follow
        continue;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        s_->error = Status::Corruption(std::string("not valid gzip: ") +
                                       (z.msg != nullptr ? z.msg : "inflate error " + std::to_string(rc)));
        return s_->error;
      }
    }
    in.remove_prefix(n);
  }
  return Status::Ok();
}

Status GzipVerifier::Finish() const {
  if (!s_->error.ok()) return s_->error;
  if (s_->in_member) return Status::Corruption("gzip stream ends inside a member (truncated)");
  if (!s_->members_done) return Status::Corruption("empty gzip stream");
  return Status::Ok();
}

}  // namespace sluice::worker
