#include "workers/secret_template.h"

#include <algorithm>
#include <cstdlib>

namespace sluice::worker {
namespace {

constexpr std::string_view kOpen = "${env:";
constexpr std::size_t kMaxNameBytes = 128;

bool NameStart(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool NameChar(char c) { return NameStart(c) || (c >= '0' && c <= '9'); }

// At `text[pos]`, which starts with kOpen: the length of the whole reference
// and its NAME, or 0 when it is malformed.
std::size_t ParseReference(std::string_view text, std::size_t pos, std::string_view* name) {
  std::size_t start = pos + kOpen.size();
  std::size_t end = start;
  while (end < text.size() && NameChar(text[end]) && end - start <= kMaxNameBytes) ++end;
  if (end == start || !NameStart(text[start]) || end - start > kMaxNameBytes) return 0;
  if (end >= text.size() || text[end] != '}') return 0;
  *name = text.substr(start, end - start);
  return end + 1 - pos;
}

Status Malformed(std::string_view text, std::size_t pos) {
  std::string_view near = text.substr(pos, 24);
  std::string shown;
  for (char c : near) shown += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return Status::InvalidArgument("malformed secret reference at byte " + std::to_string(pos) +
                                 " ('" + shown + "...'): expected ${env:NAME} with NAME of "
                                 "[A-Za-z_][A-Za-z0-9_]*, at most 128 characters");
}

}  // namespace

bool IsSecretName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameBytes || !NameStart(name[0])) return false;
  for (char c : name)
    if (!NameChar(c)) return false;
  return true;
}

EnvLookup ProcessEnvironment() {
  return [](const char* name) -> const char* { return std::getenv(name); };
}

void SecretRedactor::Add(std::string value, std::string reference) {
  if (value.empty()) return;
  for (const auto& s : secrets_)
    if (s.first == value) return;
  secrets_.emplace_back(std::move(value), std::move(reference));
  std::sort(secrets_.begin(), secrets_.end(),
            [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); });
}

std::string SecretRedactor::Redact(std::string_view text) const {
  std::string out(text);
  for (const auto& [value, reference] : secrets_) {
    std::size_t pos = 0;
    while ((pos = out.find(value, pos)) != std::string::npos) {
      out.replace(pos, value.size(), reference);
      pos += reference.size();
    }
  }
  return out;
}

Status CheckSecretReferences(std::string_view text) {
  for (std::size_t pos = text.find(kOpen); pos != std::string_view::npos;) {
    std::string_view name;
    std::size_t n = ParseReference(text, pos, &name);
    if (n == 0) return Malformed(text, pos);
    pos = text.find(kOpen, pos + n);
  }
  return Status::Ok();
}

Result<std::string> ResolveSecrets(std::string_view text, const SecretAllowList& allowed,
                                   const EnvLookup& lookup, SecretRedactor* redactor) {
  std::string out;
  std::size_t done = 0;
  for (std::size_t pos = text.find(kOpen); pos != std::string_view::npos;) {
    std::string_view name;
    std::size_t n = ParseReference(text, pos, &name);
    if (n == 0) return Malformed(text, pos);
    const std::string name_z(name);
    if (!allowed.Allows(name))
      return Status::InvalidArgument("secret ${env:" + name_z + "} is not allowed on this worker (sluice-worker --secret-env: " +
                                     allowed.Describe() + ")");
    const char* value = lookup(name_z.c_str());
    if (value == nullptr)
      return Status::InvalidArgument("secret ${env:" + name_z +
                                     "} is not set in the worker's environment");
    out.append(text.substr(done, pos - done));
    out.append(value);
    if (redactor != nullptr) redactor->Add(value, std::string(text.substr(pos, n)));
    done = pos + n;
    pos = text.find(kOpen, done);
  }
  out.append(text.substr(done));
  return out;
}

}  // namespace sluice::worker
