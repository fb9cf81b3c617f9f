// SHA-256 over a stream of chunks (OpenSSL EVP), for content addressing:
// the body of a download is hashed as it arrives, never held whole.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace sluice::worker {

class Sha256Stream {
 public:
  Sha256Stream();
  ~Sha256Stream();
  Sha256Stream(const Sha256Stream&) = delete;
  Sha256Stream& operator=(const Sha256Stream&) = delete;

  void Update(std::string_view bytes);
  // The digest of everything Update()d, as 64 lowercase hex digits. Call
  // once; the stream is then spent.
  std::string FinishHex();

  // The hex digest of `bytes` in one go.
  static std::string Hex(std::string_view bytes);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace sluice::worker
