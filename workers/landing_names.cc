#include "workers/landing_names.h"

#include <curl/curl.h>

#include <cstdio>
#include <memory>

#include "schemas/name_rule.h"
#include "workers/sha256_stream.h"

namespace sluice::worker {
namespace {

using proto::IsNameChar;

// 1..max of [A-Za-z0-9._-], not starting with '.' (so never "." or ".."
// either).
bool IsSafeName(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max || s.front() == '.') return false;
  for (char c : s)
    if (!IsNameChar(c)) return false;
  return true;
}

// "1-max characters of [A-Za-z0-9._-], not starting with '.'".
std::string SafeNameRule(std::size_t max) {
  return "1-" + std::to_string(max) + " characters of " + std::string(proto::kNameCharsText) +
         ", not starting with '.'";
}

// The path of `url` as libcurl parses it, or "" when it cannot.
std::string UrlPath(std::string_view url) {
  std::unique_ptr<CURLU, decltype(&curl_url_cleanup)> u(curl_url(), curl_url_cleanup);
  if (!u) return {};
  const std::string z(url);
  if (curl_url_set(u.get(), CURLUPART_URL, z.c_str(), 0) != CURLUE_OK) return {};
  char* path = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PATH, &path, 0) != CURLUE_OK || path == nullptr) return {};
  std::string out(path);
  curl_free(path);
  return out;
}

}  // namespace

std::string Quoted(std::string_view value) {
  std::string out = "'";
  for (std::size_t i = 0; i < value.size() && i < 80; ++i) {
    unsigned char c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  if (value.size() > 80) out += "...(" + std::to_string(value.size()) + " bytes)";
  return out + "'";
}

Status ValidateSource(std::string_view source) {
  if (IsSafeName(source, proto::kMaxNameBytes)) return Status::Ok();
  return Status::InvalidArgument("field 'source' " + Quoted(source) + " must be " +
                                 SafeNameRule(proto::kMaxNameBytes));
}

Status ValidateExt(std::string_view ext) {
  if (IsSafeName(ext, kMaxExtBytes)) return Status::Ok();
  return Status::InvalidArgument("field 'ext' " + Quoted(ext) + " must be " + SafeNameRule(kMaxExtBytes));
}

std::string ExtensionFromUrl(std::string_view url) {
  std::string path = UrlPath(url);
  std::string_view last(path);
  if (std::size_t slash = last.rfind('/'); slash != std::string_view::npos) last.remove_prefix(slash + 1);
  if (last.size() > 3 && last.ends_with(".gz")) last.remove_suffix(3);
  std::size_t dot = last.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "bin";
  std::string_view ext = last.substr(dot + 1);
  return IsSafeName(ext, kMaxExtBytes) ? std::string(ext) : "bin";
}

std::string EtagStem(std::string_view url, std::string_view etag) {
  std::string_view bare = etag;
  if (bare.starts_with("W/")) bare.remove_prefix(2);
  if (bare.size() >= 2 && bare.front() == '"' && bare.back() == '"') bare = bare.substr(1, bare.size() - 2);
  if (bare.empty()) return {};
  const std::string url8 = Sha256Stream::Hex(url).substr(0, 8);
  std::string encoded;
  for (char c : bare) {
    if (encoded.size() > kMaxEtagChars) break;
    if (IsNameChar(c)) {
      encoded += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      encoded += hex;
    }
  }
  if (encoded.size() > kMaxEtagChars) return "e" + url8 + ".h" + Sha256Stream::Hex(etag).substr(0, 32);
  return "e" + url8 + "-" + encoded;
}

bool IsSafeFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name.front() == '.') return false;
  for (char c : name)
    if (!IsNameChar(c) && c != '%') return false;
  return true;
}

std::string ContentStem(std::string_view sha256_hex) { return std::string(sha256_hex.substr(0, 16)); }

}  // namespace sluice::worker
