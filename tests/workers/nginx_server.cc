#include "nginx_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

namespace sluice::worker::testing {
namespace {

using namespace std::chrono_literals;

// A port that was free a moment ago (bound to 0 and closed): nginx may
// still lose a race for it, hence the retries in the constructor.
int FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0)
    port = ntohs(a.sin_port);
  ::close(fd);
  return port;
}

bool Answers(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

bool NginxInstalled() { return ::access(kNginxPath, X_OK) == 0; }

NginxServer::NginxServer(std::string extra_locations) : extra_locations_(std::move(extra_locations)) {
  char tmpl[] = "/tmp/sluice-nginx-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    error_ = "mkdtemp failed";
    return;
  }
  dir_ = tmpl;
  docroot_ = dir_ / "docroot";
  std::filesystem::create_directories(docroot_);
  std::string why;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (StartOnce(&why)) return;
  }
  error_ = "nginx did not start: " + why;
}

NginxServer::~NginxServer() {
  Stop();
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

void NginxServer::Stop() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 200; ++i) {
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
      pid_ = -1;
      return;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

bool NginxServer::StartOnce(std::string* why) {
  port_ = FreePort();
  if (port_ == 0) {
    *why = "no free port";
    return false;
  }
  const std::string d = dir_.string();
  for (const char* sub : {"client_body", "proxy", "fastcgi", "uwsgi", "scgi"})
    std::filesystem::create_directories(dir_ / "temp" / sub);
  std::ofstream conf(dir_ / "nginx.conf", std::ios::trunc);
  conf << "daemon off;\n"
       << "master_process off;\n"
       << "worker_processes 1;\n"
       << "pid " << d << "/nginx.pid;\n"
       << "error_log " << d << "/error.log info;\n"
       << "events { worker_connections 64; }\n"
       << "http {\n"
       << "  types { text/csv csv; application/json json; application/gzip gz;"
       << " application/octet-stream bin; text/plain txt; }\n"
       << "  default_type application/octet-stream;\n"
       << "  client_body_temp_path " << d << "/temp/client_body;\n"
       << "  proxy_temp_path " << d << "/temp/proxy;\n"
       << "  fastcgi_temp_path " << d << "/temp/fastcgi;\n"
       << "  uwsgi_temp_path " << d << "/temp/uwsgi;\n"
       << "  scgi_temp_path " << d << "/temp/scgi;\n"
       << "  log_format sluice escape=none '$status $body_bytes_sent \"$request\" inm=\"$http_if_none_match\" "
          "ims=\"$http_if_modified_since\" key=\"$http_x_api_key\"';\n"
       << "  access_log " << d << "/access.log sluice;\n"
       << "  sendfile on;\n"
       << "  server {\n"
       << "    listen 127.0.0.1:" << port_ << ";\n"
       << "    root " << docroot_.string() << ";\n"
       << "    location /noetag/ { etag off; }\n"
       << "    location /gz/ { gzip on; gzip_types text/csv; gzip_min_length 1; }\n"
       << extra_locations_ << "\n"
       << "  }\n"
       << "}\n";
  conf.close();

  const std::string conf_path = d + "/nginx.conf";
  const std::string error_log = d + "/error.log";
  const pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    *why = "fork failed";
    return false;
  }
  if (pid == 0) {
    // A test killed by its timeout (SIGKILL: no destructor) takes nginx along.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(0);
    int null = ::open("/dev/null", O_RDWR);
    if (null >= 0) {
      ::dup2(null, 0);
      ::dup2(null, 1);
    }
    ::execl(kNginxPath, "nginx", "-p", d.c_str(), "-c", conf_path.c_str(), "-e", error_log.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  for (int i = 0; i < 500; ++i) {  // up to 5 s
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      *why = "nginx exited at start: " + ReadAll(dir_ / "error.log");
      return false;
    }
    if (Answers(port_)) {
      pid_ = pid;
      return true;
    }
    std::this_thread::sleep_for(10ms);
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  *why = "nginx did not answer on port " + std::to_string(port_);
  return false;
}

std::string NginxServer::Url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + std::string(path);
}

void NginxServer::WriteFile(const std::string& relative, std::string_view content) {
  std::filesystem::path p = docroot_ / relative;
  std::filesystem::create_directories(p.parent_path());
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out.write(content.data(), static_cast<std::streamsize>(content.size()));
}

void NginxServer::SetMtime(const std::string& relative, std::filesystem::file_time_type mtime) {
  std::filesystem::last_write_time(docroot_ / relative, mtime);
}

std::vector<std::string> NginxServer::AccessLog(std::size_t at_least) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    std::vector<std::string> lines;
    std::ifstream in(dir_ / "access.log");
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    if (lines.size() >= at_least || std::chrono::steady_clock::now() >= deadline) return lines;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace sluice::worker::testing
