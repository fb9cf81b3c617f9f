#include "pipeline/lakehouse/gzip_reader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace sluice::lakehouse {
namespace {
constexpr std::size_t kInBytes = 256 << 10;
}

Result<std::unique_ptr<GzipFileReader>> GzipFileReader::Open(const std::string& path) {
  std::unique_ptr<GzipFileReader> r(new GzipFileReader());
  r->fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (r->fd_ < 0) return Status::IOError("cannot open " + path + ": " + std::strerror(errno));
#ifdef POSIX_FADV_SEQUENTIAL
  ::posix_fadvise(r->fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
  // 16 + MAX_WBITS: gzip wrapper only (a zlib or raw stream is not accepted).
  if (inflateInit2(&r->zs_, 16 + MAX_WBITS) != Z_OK) return Status::Internal("inflateInit2 failed");
  r->zs_init_ = true;
  r->in_.reset(new unsigned char[kInBytes]);
  return r;
}

GzipFileReader::~GzipFileReader() {
  if (zs_init_) inflateEnd(&zs_);
  if (fd_ >= 0) ::close(fd_);
}

Result<std::size_t> GzipFileReader::Read(char* dst, std::size_t cap) {
  if (!pending_.ok()) return pending_;
  if (done_ || cap == 0) return std::size_t{0};
  // zlib counts in uInt.
  if (cap > (1u << 30)) cap = 1u << 30;
  auto r = Inflate(dst, cap);
  if (r.ok()) return r;
  // Hand out what was inflated before the error; the error comes next.
  pending_ = r.status();
  std::size_t produced = cap - zs_.avail_out;
  if (produced > 0) return produced;
  return pending_;
}

Result<std::size_t> GzipFileReader::Inflate(char* dst, std::size_t cap) {
  zs_.next_out = reinterpret_cast<Bytef*>(dst);
  zs_.avail_out = static_cast<uInt>(cap);
  while (zs_.avail_out > 0) {
    if (zs_.avail_in == 0 && !in_eof_) {
      ssize_t n;
      do {
        n = ::read(fd_, in_.get(), kInBytes);
      } while (n < 0 && errno == EINTR);
      if (n < 0) return Status::IOError(std::string("read failed: ") + std::strerror(errno));
      if (n == 0) {
        in_eof_ = true;
      } else {
        compressed_read_ += static_cast<std::size_t>(n);
        zs_.next_in = in_.get();
        zs_.avail_in = static_cast<uInt>(n);
      }
    }
    if (zs_.avail_in == 0 && in_eof_) {
      if (member_done_) {
        done_ = true;
        break;
      }
      if (compressed_read_ == 0) return Status::Corruption("not gzip: the file is empty");
      return Status::Corruption("truncated gzip: the file ends inside a compressed member");
    }
    if (member_done_) {
      // More bytes after a member: they must be another member.
      inflateReset(&zs_);
      member_done_ = false;
    }
    int rc = inflate(&zs_, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      member_done_ = true;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && zs_.avail_in == 0) continue;  // needs more input
    return Status::Corruption(std::string("corrupt gzip: ") + (zs_.msg ? zs_.msg : zError(rc)));
  }
  return cap - zs_.avail_out;
}

}  // namespace sluice::lakehouse
