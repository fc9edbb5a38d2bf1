// A small HTTP/1.1 client for tests that must control what cpp-httplib's client would not: the
// source address (127.0.0.2 as an untrusted peer), the exact Host, Origin and custom headers, and
// closing the connection in the middle of a request. One request per connection
// (Connection: close); reads Content-Length, chunked or until-close bodies.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "util/duration.hpp"

namespace pgshift::testing {

struct HttpResponse {
  int status = 0;                                   // 0: no response (connection failed or closed)
  std::multimap<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string header(const std::string& lower_name) const;  // "" when absent
};

struct HttpRequest {
  std::string method = "GET";
  std::string target = "/";
  std::vector<std::pair<std::string, std::string>> headers;  // Host is added unless given
  std::string body;
  std::string bind_address;  // source address, e.g. "127.0.0.2"; "" any
};

HttpResponse http_request(int port, const HttpRequest& request, util::Millis timeout = util::Millis(30'000));

// GET with only Host set (127.0.0.1:port).
HttpResponse http_get(int port, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers = {});

// A POST the console accepts from its own page: Origin http://127.0.0.1:port, X-Pgshift-Request: 1,
// Content-Type application/json.
HttpResponse http_post_same_origin(int port, const std::string& target, const std::string& body,
                                   const std::vector<std::pair<std::string, std::string>>& headers = {});

// Sends a request and closes the socket after `after` without reading the answer.
void http_send_and_close(int port, const HttpRequest& request, util::Millis after);

// "%20"-style encoding of every byte outside unreserved characters.
std::string url_encode(const std::string& text);

}  // namespace pgshift::testing
