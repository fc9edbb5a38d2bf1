// Per-connection loop with request read deadlines and a per-peer cap; see http/connection_guard.hpp.
#include "http/connection_guard.hpp"

#include <fmt/format.h>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace pgshift::http {
namespace {

using Clock = std::chrono::steady_clock;

// How often a wait between requests looks whether the server is stopping.
constexpr int kStopCheckMs = 100;
// After an answer sent without reading all of the request: how long, and how much, to read and
// drop before closing, so the client sees the answer rather than a reset.
constexpr auto kLingerTime = std::chrono::milliseconds(1000);
constexpr size_t kLingerBytes = 4 << 20;

struct ThreadFlags {
  bool close_after = false;
  ReadFailure failure = ReadFailure::none;
};
thread_local ThreadFlags t_flags;

int poll_one(int fd, short events, int timeout_ms) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, std::max(0, timeout_ms));
  } while (r < 0 && errno == EINTR);
  return r;
}

bool address_of(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
  if (addr.ss_family == AF_INET) {
    port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  } else if (addr.ss_family == AF_INET6) {
    port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  } else {
    return false;
  }
  std::array<char, NI_MAXHOST> host{};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host.data(), host.size(), nullptr, 0,
                  NI_NUMERICHOST) != 0) {
    return false;
  }
  ip = host.data();
  return true;
}

void peer_of(int fd, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, len, ip, port);
}

void local_of(int fd, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) address_of(addr, len, ip, port);
}

int millis_until(Clock::time_point t) {
  return static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(t - Clock::now()).count());
}

// One connection's socket as cpp-httplib's Stream, buffered (pipelined requests keep their
// bytes), with the read deadlines of the request being read. The head ends at the first blank
// line (CRLF CRLF, or LF LF) consumed after begin_request().
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(int fd, const ConnectionLimits& limits, util::Millis read_timeout, util::Millis write_timeout)
      : fd_(fd), limits_(limits), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

  void begin_request() {
    in_head_ = true;
    head_bytes_ = 0;
    tail_ = 0;
    deadline_ = Clock::now() + limits_.header_timeout;
  }
  bool buffered() const { return offset_ < size_; }

  bool is_readable() const override {
    if (offset_ < size_) return true;
    return poll_one(fd_, POLLIN, wait_ms()) > 0;
  }
  bool is_writable() const override {
    if (poll_one(fd_, POLLOUT, static_cast<int>(write_timeout_.count())) <= 0) return false;
    char c;
    ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
  }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (offset_ == size_) {
      // The wait ends at the read timeout or at the request's deadline, whichever is first; a
      // wait the deadline ended is the request's failure (poll's milliseconds may end it a
      // little early: the deadline, not the clock afterwards, decides).
      const int until_deadline = millis_until(deadline_);
      const int read_timeout = static_cast<int>(read_timeout_.count());
      const bool by_deadline = until_deadline <= read_timeout;
      const int wait = by_deadline ? until_deadline : read_timeout;
      if (wait <= 0 || poll_one(fd_, POLLIN, wait) <= 0) {
        if (by_deadline) t_flags.failure = in_head_ ? ReadFailure::header_timeout : ReadFailure::body_timeout;
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(fd_, buffer_.data(), buffer_.size(), 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      offset_ = 0;
      size_ = static_cast<size_t>(n);
    }
    size_t take = std::min(size, size_ - offset_);
    if (in_head_) {
      // cpp-httplib reads the head one byte at a time; watch for its end.
      for (size_t i = 0; i < take && in_head_; ++i) {
        char c = buffer_[offset_ + i];
        tail_ = (tail_ << 8) | static_cast<unsigned char>(c);
        if ((tail_ & 0xffffffffu) == 0x0d0a0d0au || (tail_ & 0xffffu) == 0x0a0au) {
          in_head_ = false;
          take = i + 1;
          deadline_ = Clock::now() + limits_.body_timeout;
        }
      }
      head_bytes_ += take;
      if (in_head_ && head_bytes_ > limits_.max_header_bytes) {
        t_flags.failure = ReadFailure::header_too_large;
        return -1;
      }
    }
    std::memcpy(ptr, buffer_.data() + offset_, take);
    offset_ += take;
    return static_cast<ssize_t>(take);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (poll_one(fd_, POLLOUT, static_cast<int>(write_timeout_.count())) <= 0) return -1;
    ssize_t n;
    do {
      n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override { peer_of(fd_, ip, port); }
  void get_local_ip_and_port(std::string& ip, int& port) const override { local_of(fd_, ip, port); }
  socket_t socket() const override { return fd_; }

 private:
  // The wait for the next bytes: the read timeout, and no later than the request's deadline.
  int wait_ms() const { return std::min(static_cast<int>(read_timeout_.count()), millis_until(deadline_)); }

  int fd_;
  const ConnectionLimits& limits_;
  util::Millis read_timeout_, write_timeout_;
  std::array<char, 4096> buffer_{};
  size_t offset_ = 0, size_ = 0;
  bool in_head_ = true;
  size_t head_bytes_ = 0;
  uint32_t tail_ = 0;
  Clock::time_point deadline_ = Clock::now();
};

void send_refusal(int fd, std::string_view message) {
  std::string body = fmt::format("{{\"error\":{{\"message\":\"{}\"}}}}\n", message);
  std::string head = fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json; charset=utf-8\r\n"
      "Content-Length: {}\r\nRetry-After: 1\r\nConnection: close\r\nX-Content-Type-Options: nosniff\r\n"
      "Cache-Control: no-store\r\n\r\n",
      body.size());
  std::string all = head + body;
  ::send(fd, all.data(), all.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
}

}  // namespace

// Sockets answered and shut for writing, kept open a little while so that what the client still
// sends is read and dropped instead of answered with a reset (which can destroy the answer
// before the client read it). One thread for all of them: a worker never waits for a client
// that is done being served.
class GuardedHttpServer::Closer {
 public:
  Closer() : thread_([this] { loop(); }) {}
  ~Closer() {
    stop_ = true;
    thread_.join();
    for (auto& [fd, until] : sockets_) ::close(fd);
  }
  void add(int fd) {
    ::shutdown(fd, SHUT_WR);
    std::lock_guard lock(mutex_);
    if (sockets_.size() >= kMaxLingering) {
      ::close(fd);
      return;
    }
    sockets_.emplace_back(fd, Clock::now() + kLingerTime);
  }

 private:
  void loop() {
    std::array<char, 16384> sink;
    while (!stop_) {
      {
        std::lock_guard lock(mutex_);
        auto now = Clock::now();
        for (auto it = sockets_.begin(); it != sockets_.end();) {
          ssize_t n;
          size_t dropped = 0;
          do {
            n = ::recv(it->first, sink.data(), sink.size(), MSG_DONTWAIT);
            if (n > 0) dropped += static_cast<size_t>(n);
          } while (n > 0 && dropped < kLingerBytes);
          const bool open = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
          if (!open || now >= it->second) {
            ::close(it->first);
            it = sockets_.erase(it);
          } else {
            ++it;
          }
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  static constexpr size_t kMaxLingering = 1024;
  std::mutex mutex_;
  std::vector<std::pair<int, Clock::time_point>> sockets_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

GuardedHttpServer::GuardedHttpServer(ConnectionLimits limits, std::function<void(std::string_view)> on_refused)
    : limits_(std::move(limits)), on_refused_(std::move(on_refused)), closer_(std::make_unique<Closer>()) {}

GuardedHttpServer::~GuardedHttpServer() = default;

void GuardedHttpServer::close_after_response() { t_flags.close_after = true; }

ReadFailure GuardedHttpServer::read_failure() { return t_flags.failure; }

int GuardedHttpServer::connections_of(const std::string& peer) {
  std::lock_guard lock(mutex_);
  auto it = per_peer_.find(peer);
  return it == per_peer_.end() ? 0 : it->second;
}

bool GuardedHttpServer::admit(const std::string& peer) {
  if (limits_.max_per_peer <= 0) return true;
  for (const Cidr& c : limits_.exempt) {
    if (c.contains(peer)) return true;
  }
  std::lock_guard lock(mutex_);
  int& n = per_peer_[peer];
  if (n >= limits_.max_per_peer) return false;
  ++n;
  return true;
}

void GuardedHttpServer::release(const std::string& peer) {
  std::lock_guard lock(mutex_);
  auto it = per_peer_.find(peer);
  if (it != per_peer_.end() && --it->second <= 0) per_peer_.erase(it);
}

// Waits for the first byte of the next request: up to the keep-alive timeout, and no longer
// than the server runs.
bool GuardedHttpServer::wait_for_request(socket_t sock) {
  auto until = Clock::now() + std::chrono::seconds(keep_alive_timeout_sec_);
  while (svr_sock_ != INVALID_SOCKET) {
    int left = millis_until(until);
    if (left <= 0) return false;
    int r = poll_one(sock, POLLIN, std::min(left, kStopCheckMs));
    if (r < 0) return false;
    if (r > 0) return true;
  }
  return false;
}

bool GuardedHttpServer::process_and_close_socket(socket_t sock) {
  std::string peer;
  int peer_port = 0;
  peer_of(sock, peer, peer_port);
  const bool counted = limits_.max_per_peer > 0;
  bool ok = false;
  bool lingering = false;
  if (!admit(peer)) {
    send_refusal(sock, fmt::format("too many connections from {} (at most {} at a time)", peer, limits_.max_per_peer));
    if (on_refused_) on_refused_("per_peer");
    lingering = true;  // its request is unread
  } else {
    GuardedStream stream(sock, limits_, util::Millis(read_timeout_sec_ * 1000 + read_timeout_usec_ / 1000),
                         util::Millis(write_timeout_sec_ * 1000 + write_timeout_usec_ / 1000));
    for (size_t count = keep_alive_max_count_; count > 0 && svr_sock_ != INVALID_SOCKET; --count) {
      if (!stream.buffered() && !wait_for_request(sock)) break;
      stream.begin_request();
      t_flags = ThreadFlags{};
      bool closed = false;
      ok = process_request(stream, count == 1, closed, nullptr);
      ReadFailure failure = t_flags.failure;
      lingering = t_flags.close_after || failure != ReadFailure::none;
      t_flags = ThreadFlags{};
      if (failure != ReadFailure::none && on_refused_) {
        on_refused_(failure == ReadFailure::header_timeout    ? "header_timeout"
                    : failure == ReadFailure::header_too_large ? "header_too_large"
                                                               : "body_timeout");
      }
      if (!ok || closed || failure != ReadFailure::none || lingering) break;
    }
    if (counted) release(peer);
  }
  if (lingering) {
    closer_->add(sock);
  } else {
    ::shutdown(sock, SHUT_RDWR);
    ::close(sock);
  }
  return ok;
}

std::string describe(ReadFailure failure, const ConnectionLimits& limits) {
  switch (failure) {
    case ReadFailure::none: return "";
    case ReadFailure::header_timeout:
      return fmt::format("the request's headers did not arrive within {}", util::format_duration(limits.header_timeout));
    case ReadFailure::header_too_large:
      return fmt::format("the request's headers are larger than {} bytes", limits.max_header_bytes);
    case ReadFailure::body_timeout:
      return fmt::format("the request's body did not arrive within {}", util::format_duration(limits.body_timeout));
  }
  return "";
}

int status_of(ReadFailure failure) { return failure == ReadFailure::header_too_large ? 431 : 408; }

}  // namespace pgshift::http
