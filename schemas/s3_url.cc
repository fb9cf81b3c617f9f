#include "schemas/s3_url.h"

#include <algorithm>

namespace sluice::s3 {

std::string UriEncode(std::string_view text, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + text.size() / 4);
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                            c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved || (keep_slash && c == '/')) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

std::string CanonicalQuery(QueryParams params) {
  for (auto& [name, value] : params) {
    name = UriEncode(name, false);
    value = UriEncode(value, false);
  }
  std::sort(params.begin(), params.end());
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

std::string ObjectUrl(const Config& config, std::string_view bucket, std::string_view key,
                      std::string_view query) {
  std::string url;
  const std::string encoded_key = UriEncode(key, true);
  if (config.path_style() || bucket.find('.') != std::string_view::npos) {
    url = config.path_style() ? config.endpoint : "https://s3." + config.region + ".amazonaws.com";
    url += '/';
    url += bucket;
    if (!key.empty()) url += '/' + encoded_key;
  } else {
    url = "https://" + std::string(bucket) + ".s3." + config.region + ".amazonaws.com/" + encoded_key;
  }
  if (!query.empty()) {
    url += '?';
    url += query;
  }
  return url;
}

}  // namespace sluice::s3
