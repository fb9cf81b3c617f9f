#include "workers/sha256_stream.h"

#include <openssl/evp.h>

#include <cstdlib>

namespace sluice::worker {

// EVP failures here mean an out-of-memory or a broken OpenSSL: there is no
// sensible way on, and a wrong digest would silently break deduplication.
struct Sha256Stream::Ctx {
  EVP_MD_CTX* md = nullptr;
};

namespace {

// SHA-256 fetched from the default provider once: EVP_sha256() makes each
// EVP_DigestInit_ex look it up again (~25,000 instructions per file).
const EVP_MD* Sha256() {
  static const EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return md != nullptr ? md : EVP_sha256();
}

}  // namespace

Sha256Stream::Sha256Stream() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, Sha256(), nullptr) != 1) std::abort();
}

Sha256Stream::~Sha256Stream() { EVP_MD_CTX_free(ctx_->md); }

void Sha256Stream::Update(std::string_view bytes) {
  if (bytes.empty()) return;
  if (EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) != 1) std::abort();
}

std::string Sha256Stream::FinishHex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, digest, &n) != 1) std::abort();
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string Sha256Stream::Hex(std::string_view bytes) {
  Sha256Stream s;
  s.Update(bytes);
  return s.FinishHex();
}

}  // namespace sluice::worker
