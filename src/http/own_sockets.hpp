// Finding this process's own TCP sockets by their addresses, for what cpp-httplib 0.11 does not
// expose: the socket a request arrived on (http/disconnect.hpp) and the listening socket
// (Server::bind() widens its backlog). Linux only: reads /proc/self/fd.
#pragma once

#include <string>

namespace pgshift::http {

// The connected socket whose local port and peer address:port are these, or -1.
int find_connected_socket(const std::string& peer_address, int peer_port, int local_port);

// The listening socket bound to local_port, or -1.
int find_listening_socket(int local_port);

// cpp-httplib 0.11 listens with a backlog of 5 (CPPHTTPLIB_LISTEN_BACKLOG, compiled into Debian's
// library): a burst of more simultaneous connects than that overflows the accept queue, and
// those clients wait for SYN retransmits (1 s and more) or fail. listen() again on the bound
// socket raises the backlog to `backlog` (the kernel caps it at net.core.somaxconn). Returns
// false when the socket was not found or listen() failed.
bool widen_listen_backlog(int local_port, int backlog);

}  // namespace pgshift::http
