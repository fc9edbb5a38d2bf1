// What keeps slow or greedy clients from holding the HTTP service's threads (issue #23 item 4).
// cpp-httplib 0.11 serves each connection on a pool thread and bounds only the wait for each
// single recv(): a client that sends one header line every few seconds keeps its thread for
// ever, and a few dozen of them starve everyone. GuardedHttpServer replaces its per-connection
// loop (process_and_close_socket, a virtual the library calls for every accepted socket) and
// keeps everything else of cpp-httplib:
//
//   - a request's head (request line and headers) must arrive within `header_timeout` of its
//     first byte and be at most `max_header_bytes`; its body within `body_timeout` of the end of
//     the head. Otherwise the answer is 408 (or 431) and the connection closes;
//   - one peer address holds at most `max_per_peer` connections at a time; beyond that a
//     connection is answered 503 at once and closed, without reading it. Peers in `exempt`
//     (trusted proxies, which carry many users' requests) are not counted;
//   - a handler that answered without reading the body (413 on a declared Content-Length) calls
//     close_after_response(): the connection then closes after the answer, instead of reading
//     the unwanted body as the next request;
//   - between requests of a keep-alive connection the wait is the keep-alive timeout, and it
//     ends early when the server stops.
//
// The reason a read failed is kept for the thread that served the request (read_failure()), so
// the error handler can say it; it is reset at the start of every request.
#pragma once

#include <httplib.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "http/address.hpp"
#include "util/duration.hpp"

namespace pgshift::http {

struct ConnectionLimits {
  util::Millis header_timeout{10'000};
  util::Millis body_timeout{30'000};
  size_t max_header_bytes = 64 * 1024;
  int max_per_peer = 16;        // 0: no cap
  std::vector<Cidr> exempt;     // peers the cap does not count
};

enum class ReadFailure { none, header_timeout, header_too_large, body_timeout };

class GuardedHttpServer : public httplib::Server {
 public:
  // on_refused(reason) is called for every connection refused or cut ("per_peer",
  // "header_timeout", "header_too_large", "body_timeout"); it must be thread-safe.
  GuardedHttpServer(ConnectionLimits limits, std::function<void(std::string_view)> on_refused);
  ~GuardedHttpServer() override;

  // For the request being served on this thread: close the connection after its answer.
  static void close_after_response();
  // Why reading the request on this thread failed, if it did.
  static ReadFailure read_failure();

  const ConnectionLimits& limits() const { return limits_; }
  int connections_of(const std::string& peer);  // open connections counted for a peer

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool wait_for_request(socket_t sock);
  bool admit(const std::string& peer);
  void release(const std::string& peer);

  class Closer;
  ConnectionLimits limits_;
  std::function<void(std::string_view)> on_refused_;
  std::mutex mutex_;
  std::map<std::string, int> per_peer_;
  std::unique_ptr<Closer> closer_;  // answered connections, read and dropped until they close
};

// "408 the request's headers did not arrive within 10 s" and the like; "" for none.
std::string describe(ReadFailure failure, const ConnectionLimits& limits);
// The status a read failure is answered with (408, 431).
int status_of(ReadFailure failure);

}  // namespace pgshift::http
