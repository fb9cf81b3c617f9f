#include "tests/integration/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

namespace sluice::testing {

TcpRelay::TcpRelay(int target_port) : target_port_(target_port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
    return;
  }
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { Loop(); });
}

TcpRelay::~TcpRelay() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

std::string TcpRelay::Recorded() const {
  std::lock_guard<std::mutex> lock(mu_);
  return recorded_;
}

void TcpRelay::Loop() {
  struct Pair {
    int a, b;  // a: the accepted client, b: the connection to the target
  };
  std::vector<Pair> pairs;
  char buf[65536];
  while (!stop_.load()) {
    std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
    for (const Pair& p : pairs) {
      fds.push_back({p.a, POLLIN, 0});
      fds.push_back({p.b, POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), 100) <= 0) continue;
    if (fds[0].revents & POLLIN) {
      int a = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (a >= 0) {
        int b = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in t{};
        t.sin_family = AF_INET;
        t.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        t.sin_port = htons(static_cast<std::uint16_t>(target_port_));
        if (b >= 0 && ::connect(b, reinterpret_cast<sockaddr*>(&t), sizeof t) == 0) {
          pairs.push_back({a, b});
        } else {
          ::close(a);
          if (b >= 0) ::close(b);
        }
      }
      continue;  // the fds vector no longer matches `pairs`
    }
    std::vector<Pair> alive;
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      bool open = true;
      for (int side = 0; side < 2 && open; ++side) {
        const pollfd& f = fds[1 + 2 * i + side];
        if (!(f.revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const int from = side == 0 ? pairs[i].a : pairs[i].b;
        const int to = side == 0 ? pairs[i].b : pairs[i].a;
        ssize_t n = ::read(from, buf, sizeof buf);
        if (n <= 0) {
          open = false;
          break;
        }
        {
          std::lock_guard<std::mutex> lock(mu_);
          recorded_.append(buf, static_cast<std::size_t>(n));
        }
        bytes_ += static_cast<std::uint64_t>(n);
        for (ssize_t put = 0; put < n;) {
          ssize_t w = ::write(to, buf + put, static_cast<std::size_t>(n - put));
          if (w <= 0) {
            open = false;
            break;
          }
          put += w;
        }
      }
      if (open) {
        alive.push_back(pairs[i]);
      } else {
        ::close(pairs[i].a);
        ::close(pairs[i].b);
      }
    }
    pairs = std::move(alive);
  }
  for (const Pair& p : pairs) {
    ::close(p.a);
    ::close(p.b);
  }
}

}  // namespace sluice::testing
