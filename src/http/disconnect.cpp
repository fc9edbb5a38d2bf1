// Watching request sockets for a peer that left; see http/disconnect.hpp.
#include "http/disconnect.hpp"

#include <poll.h>

#include <chrono>
#include <vector>

namespace pgshift::http {

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

}  // namespace pgshift::http
