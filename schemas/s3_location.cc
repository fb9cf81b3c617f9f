#include "schemas/s3_location.h"

#include "schemas/utf8.h"

namespace sluice::s3 {
namespace {

constexpr std::string_view kScheme = "s3://";
constexpr std::size_t kMaxPrefix = 512;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

Status CheckPrefix(std::string_view prefix) {
  if (prefix.size() > kMaxPrefix) return Status::InvalidArgument("the prefix is longer than 512 bytes");
  if (!proto::IsValidUtf8(prefix)) return Status::InvalidArgument("the prefix is not valid UTF-8");
  std::size_t start = 0;
  while (start <= prefix.size()) {
    const std::size_t slash = prefix.find('/', start);
    const std::size_t end = slash == std::string_view::npos ? prefix.size() : slash;
    const std::string_view part = prefix.substr(start, end - start);
    if (part.empty()) return Status::InvalidArgument("the prefix has an empty component ('//')");
    if (part == "." || part == "..") return Status::InvalidArgument("the prefix has a '.' or '..' component");
    for (const char c : part)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\\')
        return Status::InvalidArgument("the prefix has a control byte or a backslash");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return Status::Ok();
}

}  // namespace

bool IsValidBucketName(std::string_view bucket) {
  if (bucket.size() < 3 || bucket.size() > 63) return false;
  if (!IsLowerAlnum(bucket.front()) || !IsLowerAlnum(bucket.back())) return false;
  for (const char c : bucket)
    if (!IsLowerAlnum(c) && c != '.' && c != '-') return false;
  return bucket.find("..") == std::string_view::npos;
}

bool IsS3Url(std::string_view text) { return text.substr(0, kScheme.size()) == kScheme; }

Result<Location> ParseLocation(std::string_view text) {
  const std::string shown(text.substr(0, 200));
  if (!IsS3Url(text)) return Status::InvalidArgument("'" + shown + "' is not an s3://bucket/prefix location");
  std::string_view rest = text.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t slash = rest.find('/');
  Location loc;
  loc.bucket = std::string(rest.substr(0, slash));
  if (!IsValidBucketName(loc.bucket))
    return Status::InvalidArgument("'" + shown + "': '" + loc.bucket.substr(0, 80) +
                                   "' is not a valid bucket name (3-63 of a-z, 0-9, '.', '-')");
  if (slash != std::string_view::npos) {
    loc.prefix = std::string(rest.substr(slash + 1));
    if (const Status st = CheckPrefix(loc.prefix); !st.ok())
      return Status::InvalidArgument("'" + shown + "': " + st.message());
  }
  return loc;
}

std::string Location::Key(std::string_view relative) const {
  if (prefix.empty()) return std::string(relative);
  std::string key = prefix;
  key += '/';
  key += relative;
  return key;
}

std::string Location::Relative(std::string_view key) const {
  if (prefix.empty()) return std::string(key);
  if (key.size() <= prefix.size() + 1 || key.substr(0, prefix.size()) != prefix || key[prefix.size()] != '/')
    return {};
  return std::string(key.substr(prefix.size() + 1));
}

std::string Location::ListPrefix() const { return prefix.empty() ? std::string() : prefix + "/"; }

std::string Location::ToString() const {
  std::string out(kScheme);
  out += bucket;
  if (!prefix.empty()) out += "/" + prefix;
  return out;
}

Location Location::Child(std::string_view component) const {
  Location child = *this;
  child.prefix = Key(component);
  return child;
}

}  // namespace sluice::s3
