#include "schemas/curve_cert.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "schemas/name_rule.h"

namespace sluice::curve {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

Result<std::string> ReadSmallFile(const std::string& path, struct stat* st) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);  // a symlink to a key is fine
  if (fd < 0) return Status::NotFound("cannot read key file " + path + ": " + std::strerror(errno));
  if (::fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("key file " + path + " is not a regular file");
  }
  if (static_cast<std::size_t>(st->st_size) > kMaxCertBytes) {
    ::close(fd);
    return Status::InvalidArgument("key file " + path + " is larger than 64 KiB");
  }
  std::string text(static_cast<std::size_t>(st->st_size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    ssize_t n = ::read(fd, text.data() + got, text.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fd);
  text.resize(got);
  return text;
}

std::string Now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[32];
  std::strftime(b, sizeof b, "%Y-%m-%d %H:%M:%S", &tm);
  return b;
}

// Creates `path` exclusively with `mode` and writes `text`, fsynced.
Status WriteExclusive(const std::string& path, const std::string& text, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) {
    if (errno == EEXIST) return Status::Conflict(path + " exists; not overwriting it");
    return Status::IOError("cannot create " + path + ": " + std::strerror(errno));
  }
  (void)::fchmod(fd, mode);  // whatever the umask
  std::size_t put = 0;
  while (put < text.size()) {
    ssize_t n = ::write(fd, text.data() + put, text.size() - put);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int e = errno;
      ::close(fd);
      ::unlink(path.c_str());
      return Status::IOError("cannot write " + path + ": " + std::strerror(e));
    }
    put += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(path.c_str());
    return Status::IOError("cannot write " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

}  // namespace

bool IsZ85Key(std::string_view key) {
  if (key.size() != kKeyZ85Length) return false;
  std::string z(key);
  std::uint8_t bytes[32];
  return zmq_z85_decode(bytes, z.c_str()) != nullptr;
}

Result<KeyPair> ParseCert(std::string_view text, const std::string& what) {
  if (text.size() > kMaxCertBytes) return Status::InvalidArgument(what + ": larger than 64 KiB");
  KeyPair keys;
  std::string section;  // the current top-level section
  bool saw_public = false, saw_secret = false;
  int line_no = 0;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(what + ":" + std::to_string(line_no) + ": " + why);
    };
    std::size_t indent = 0;
    while (indent < line.size() && line[indent] == ' ') ++indent;
    std::string_view body = Trim(line.substr(indent));
    if (body.empty() || body.front() == '#') continue;
    if (indent == 0) {
      const std::size_t eq = body.find('=');
      section = std::string(Trim(body.substr(0, eq)));
      continue;
    }
    if (section != "curve") continue;  // metadata and anything else
    const std::size_t eq = body.find('=');
    if (eq == std::string_view::npos) continue;  // a subsection name
    std::string_view name = Trim(body.substr(0, eq));
    std::string_view value = Trim(body.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    if (name != "public-key" && name != "secret-key") continue;
    if (!IsZ85Key(value)) return bad(std::string(name) + " is not 40 characters of Z85");
    if (name == "public-key") {
      if (saw_public) return bad("public-key given twice");
      saw_public = true;
      keys.public_z85 = std::string(value);
    } else {
      if (saw_secret) return bad("secret-key given twice");
      saw_secret = true;
      keys.secret_z85 = std::string(value);
    }
  }
  if (!saw_public) return Status::InvalidArgument(what + ": no public-key in a 'curve' section");
  if (saw_secret) {
    // The secret key must be the public key's own.
    std::uint8_t secret[32];
    char derived[kKeyZ85Length + 1];
    zmq_z85_decode(secret, keys.secret_z85.c_str());
    if (zmq_curve_public(derived, keys.secret_z85.c_str()) != 0 || keys.public_z85 != derived)
      return Status::InvalidArgument(what + ": the public-key does not belong to the secret-key");
    std::memset(secret, 0, sizeof secret);
  }
  return keys;
}

std::string FormatCert(const KeyPair& keys, bool secret) {
  std::ostringstream out;
  out << "#   ****  Generated on " << Now() << " by sluice keygen  ****\n";
  if (secret) {
    out << "#   ZeroMQ CURVE **Secret** Certificate\n"
           "#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.\n";
  } else {
    out << "#   ZeroMQ CURVE Public Certificate\n"
           "#   Exchange securely, or use a secure mechanism to verify the contents\n"
           "#   of this file after exchange.\n";
  }
  out << "\nmetadata\ncurve\n    public-key = \"" << keys.public_z85 << "\"\n";
  if (secret) out << "    secret-key = \"" << keys.secret_z85 << "\"\n";
  return out.str();
}

Result<KeyPair> ReadSecretCert(const std::string& path) {
  struct stat st{};
  auto text = ReadSmallFile(path, &st);
  if (!text.ok()) return text.status();
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return Status::InvalidArgument("key file " + path + " is accessible by others (mode " + mode +
                                   "); it holds a secret key: chmod 600 it");
  }
  auto keys = ParseCert(*text, path);
  if (!keys.ok()) return keys.status();
  if (keys->secret_z85.empty())
    return Status::InvalidArgument(path + ": no secret-key (a .pub file? give the .key)");
  return keys;
}

Result<std::string> ReadPublicKey(const std::string& path) {
  struct stat st{};
  auto text = ReadSmallFile(path, &st);
  if (!text.ok()) return text.status();
  auto keys = ParseCert(*text, path);
  if (!keys.ok()) return keys.status();
  return keys->public_z85;
}

Status WriteNewCert(const std::string& dir, const std::string& name, std::string* key_path,
                    std::string* pub_path) {
  if (!proto::IsValidName(name) || name.front() == '.')
    return Status::InvalidArgument("key name '" + name + "' must be " + std::string(proto::kNameRuleText) +
                                   ", not starting with '.'");
  const std::string base = (dir.empty() ? std::string(".") : dir) + "/" + name;
  *key_path = base + ".key";
  *pub_path = base + ".pub";
  struct stat st{};
  for (const std::string* p : {key_path, pub_path})
    if (::lstat(p->c_str(), &st) == 0) return Status::Conflict(*p + " exists; not overwriting it");
  char pub[kKeyZ85Length + 1], sec[kKeyZ85Length + 1];
  if (zmq_curve_keypair(pub, sec) != 0)
    return Status::Internal("cannot generate a CURVE key pair: " + std::string(zmq_strerror(zmq_errno())));
  KeyPair keys{pub, sec};
  std::memset(sec, 0, sizeof sec);
  Status s = WriteExclusive(*key_path, FormatCert(keys, true), 0600);
  if (!s.ok()) return s;
  s = WriteExclusive(*pub_path, FormatCert(keys, false), 0644);
  if (!s.ok()) {
    ::unlink(key_path->c_str());
    return s;
  }
  return Status::Ok();
}

Result<ClientKeys> LoadClientKeys(const std::string& key_file, const std::string& broker_key_file) {
  if (key_file.empty() && broker_key_file.empty()) return ClientKeys{};
  if (key_file.empty())
    return Status::InvalidArgument("--broker-key needs --curve-key (this side's own .key) as well");
  if (broker_key_file.empty())
    return Status::InvalidArgument("--curve-key needs --broker-key (the broker's .pub) as well");
  ClientKeys keys;
  auto own = ReadSecretCert(key_file);
  if (!own.ok()) return own.status();
  keys.own = std::move(*own);
  auto server = ReadPublicKey(broker_key_file);
  if (!server.ok()) return server.status();
  keys.server_z85 = std::move(*server);
  return keys;
}

void ApplyClientKeys(zmq::socket_t& socket, const ClientKeys& keys) {
  if (keys.server_z85.empty()) return;
  socket.set(zmq::sockopt::curve_serverkey, keys.server_z85);
  socket.set(zmq::sockopt::curve_publickey, keys.own.public_z85);
  socket.set(zmq::sockopt::curve_secretkey, keys.own.secret_z85);
}

}  // namespace sluice::curve
