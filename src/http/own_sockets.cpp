// Finding this process's own sockets; see http/own_sockets.hpp.
#include "http/own_sockets.hpp"

#include <dirent.h>
#include <netdb.h>
#include <sys/socket.h>

#include <cstdlib>
#include <functional>

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

// The first open descriptor (above stderr) for which `match` holds, or -1.
int find_fd(const std::function<bool(int fd)>& match) {
  DIR* dir = opendir("/proc/self/fd");
  if (!dir) return -1;
  int found = -1;
  while (dirent* d = readdir(dir)) {
    int fd = std::atoi(d->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    if (match(fd)) {
      found = fd;
      break;
    }
  }
  closedir(dir);
  return found;
}

bool local_port_is(int fd, int port) {
  sockaddr_storage local{};
  socklen_t len = sizeof local;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &len) != 0) return false;
  std::string host;
  int p = 0;
  return numeric(local, len, host, p) && p == port;
}

}  // namespace

int find_connected_socket(const std::string& peer_address, int peer_port, int local_port) {
  return find_fd([&](int fd) {
    if (!local_port_is(fd, local_port)) return false;
    sockaddr_storage peer{};
    socklen_t len = sizeof peer;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return false;
    std::string host;
    int port = 0;
    return numeric(peer, len, host, port) && port == peer_port && host == peer_address;
  });
}

int find_listening_socket(int local_port) {
  return find_fd([&](int fd) {
    int listening = 0;
    socklen_t len = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 || !listening) return false;
    return local_port_is(fd, local_port);
  });
}

bool widen_listen_backlog(int local_port, int backlog) {
  int fd = find_listening_socket(local_port);
  return fd >= 0 && ::listen(fd, backlog) == 0;
}

}  // namespace pgshift::http
