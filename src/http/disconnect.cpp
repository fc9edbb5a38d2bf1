// Watching request sockets for a peer that left; see http/disconnect.hpp.
#include "http/disconnect.hpp"

#include <dirent.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdlib>
#include <vector>

namespace pgshift::http {
namespace {

// The numeric host and port of a socket address, as cpp-httplib reports them (getnameinfo).
bool numeric(const sockaddr_storage& addr, socklen_t len, std::string& host, int& port) {
  char h[NI_MAXHOST], s[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, h, sizeof h, s, sizeof s,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
    return false;
  }
  host = h;
  port = std::atoi(s);
  return true;
}

}  // namespace

DisconnectWatcher::Guard& DisconnectWatcher::Guard::operator=(Guard&& other) noexcept {
  if (this != &other) {
    if (watcher_) watcher_->forget(id_);
    watcher_ = other.watcher_;
    id_ = other.id_;
    other.watcher_ = nullptr;
  }
  return *this;
}

DisconnectWatcher::Guard::~Guard() {
  if (watcher_) watcher_->forget(id_);
}

DisconnectWatcher::DisconnectWatcher() : thread_([this] { loop(); }) {}

DisconnectWatcher::~DisconnectWatcher() {
  stop_ = true;
  thread_.join();
}

DisconnectWatcher::Guard DisconnectWatcher::watch(int fd, std::function<void()> on_disconnect) {
  if (fd < 0) return Guard();
  std::lock_guard lock(mutex_);
  long long id = next_id_++;
  entries_[id] = Entry{fd, std::move(on_disconnect)};
  return Guard(this, id);
}

void DisconnectWatcher::forget(long long id) {
  std::lock_guard lock(mutex_);  // waits for a callback running under the lock
  entries_.erase(id);
}

void DisconnectWatcher::loop() {
  while (!stop_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::lock_guard lock(mutex_);
    if (entries_.empty()) continue;
    std::vector<pollfd> fds;
    std::vector<long long> ids;
    for (const auto& [id, e] : entries_) {
      fds.push_back(pollfd{e.fd, POLLRDHUP, 0});
      ids.push_back(id);
    }
    if (poll(fds.data(), fds.size(), 0) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL))) continue;
      auto it = entries_.find(ids[i]);
      std::function<void()> callback = std::move(it->second.callback);
      entries_.erase(it);
      try {
        if (callback) callback();
      } catch (...) {
        // a failed cancel changes nothing: the statement ends at its timeout
      }
    }
  }
}

int DisconnectWatcher::find_socket(const std::string& peer_address, int peer_port, int local_port) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* d = readdir(dir)) {
    int fd = std::atoi(d->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t llen = sizeof local, plen = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) != 0) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0) continue;
    std::string lh, ph;
    int lp = 0, pp = 0;
    if (!numeric(local, llen, lh, lp) || !numeric(peer, plen, ph, pp)) continue;
    if (lp == local_port && pp == peer_port && ph == peer_address) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

}  // namespace pgshift::http
