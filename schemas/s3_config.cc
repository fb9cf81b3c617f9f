#include "schemas/s3_config.h"

#include <cstdlib>

namespace sluice::s3 {
namespace {

std::string Var(const GetEnv& getenv, const char* name) {
  const char* v = getenv ? getenv(name) : std::getenv(name);
  return v != nullptr ? std::string(v) : std::string();
}

bool IsHostChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
         c == ':' || c == '[' || c == ']' || c == '_';
}

// "http(s)://host[:port]" with an optional trailing '/'; nothing else.
Result<std::string> CheckEndpoint(const std::string& name, std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) rest = std::string_view(url).substr(7);
  else if (url.rfind("https://", 0) == 0) rest = std::string_view(url).substr(8);
  else return Status::InvalidArgument(name + " must be an http:// or https:// URL, got '" + url.substr(0, 200) + "'");
  if (rest.empty()) return Status::InvalidArgument(name + " has no host: '" + url.substr(0, 200) + "'");
  for (const char c : rest)
    if (!IsHostChar(c))
      return Status::InvalidArgument(name + " must be scheme://host[:port] with no path, query or user, got '" +
                                     url.substr(0, 200) + "'");
  return url;
}

}  // namespace

std::string Config::Describe() const {
  std::string out = "access key " + (access_key_id.empty() ? std::string("(none)") : access_key_id);
  out += " at " + (endpoint.empty() ? std::string("AWS S3") : endpoint);
  out += " (region " + region + ")";
  return out;
}

Result<Config> ConfigFromEnv(const GetEnv& getenv) {
  Config c;
  c.access_key_id = Var(getenv, "AWS_ACCESS_KEY_ID");
  c.secret_access_key = Var(getenv, "AWS_SECRET_ACCESS_KEY");
  c.session_token = Var(getenv, "AWS_SESSION_TOKEN");
  if (c.access_key_id.empty())
    return Status::InvalidArgument("AWS_ACCESS_KEY_ID is not set: an s3:// location needs credentials");
  if (c.secret_access_key.empty())
    return Status::InvalidArgument("AWS_SECRET_ACCESS_KEY is not set (for access key " + c.access_key_id + ")");
  for (const char ch : c.access_key_id)
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == '/' || ch == ':' || static_cast<unsigned char>(ch) >= 0x7f)
      return Status::InvalidArgument("AWS_ACCESS_KEY_ID has a character an access key id cannot have");
  for (const char ch : c.session_token + c.secret_access_key)
    if (static_cast<unsigned char>(ch) < 0x20 || static_cast<unsigned char>(ch) == 0x7f)
      return Status::InvalidArgument("AWS_SECRET_ACCESS_KEY or AWS_SESSION_TOKEN has a control character");
  std::string region = Var(getenv, "AWS_REGION");
  if (region.empty()) region = Var(getenv, "AWS_DEFAULT_REGION");
  if (!region.empty()) {
    for (const char ch : region)
      if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-'))
        return Status::InvalidArgument("AWS_REGION '" + region.substr(0, 64) + "' is not a region name (a-z, 0-9, '-')");
    c.region = region;
  }
  std::string endpoint_var = "AWS_ENDPOINT_URL_S3";
  std::string endpoint = Var(getenv, "AWS_ENDPOINT_URL_S3");
  if (endpoint.empty()) {
    endpoint_var = "AWS_ENDPOINT_URL";
    endpoint = Var(getenv, "AWS_ENDPOINT_URL");
  }
  if (!endpoint.empty()) {
    Result<std::string> checked = CheckEndpoint(endpoint_var, endpoint);
    if (!checked.ok()) return checked.status();
    c.endpoint = std::move(checked).value();
  }
  return c;
}

}  // namespace sluice::s3
