// Noticing that a client went away while its request is still being served, so the statement
// it started can be cancelled (PQcancel) instead of running to its timeout for nobody.
//
// cpp-httplib 0.11 does not hand handlers their socket, so the caller finds it
// (http::find_connected_socket: the one socket of this process whose local port and peer
// address:port are the request's) and passes it to watch(). One background thread polls the
// watched sockets every 100 ms for POLLRDHUP/POLLHUP/POLLERR (the peer closed or reset; pending
// request bytes of a keep-alive client are not a disconnect) and calls the callback once, on
// that thread.
//
// A Guard unregisters on destruction and waits for a running callback to return, so what the
// callback touches may be destroyed right after the guard. A request whose socket cannot be
// found gets an inert guard (nothing is cancelled, nothing fails).
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace pgshift::http {

class DisconnectWatcher {
 public:
  DisconnectWatcher();
  ~DisconnectWatcher();
  DisconnectWatcher(const DisconnectWatcher&) = delete;
  DisconnectWatcher& operator=(const DisconnectWatcher&) = delete;

  class Guard {
   public:
    Guard() = default;
    Guard(Guard&& other) noexcept : watcher_(other.watcher_), id_(other.id_) { other.watcher_ = nullptr; }
    Guard& operator=(Guard&& other) noexcept;
    ~Guard();
    bool active() const { return watcher_ != nullptr; }

   private:
    friend class DisconnectWatcher;
    Guard(DisconnectWatcher* w, long long id) : watcher_(w), id_(id) {}
    DisconnectWatcher* watcher_ = nullptr;
    long long id_ = 0;
  };

  // fd: the request's socket (http::find_connected_socket), or -1 for an inert guard.
  Guard watch(int fd, std::function<void()> on_disconnect);

 private:
  struct Entry {
    int fd;
    std::function<void()> callback;
  };
  void loop();
  void forget(long long id);

  std::mutex mutex_;
  std::map<long long, Entry> entries_;
  long long next_id_ = 1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace pgshift::http
