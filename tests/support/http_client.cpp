// The test HTTP client; see support/http_client.hpp.
#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>

namespace pgshift::testing {
namespace {

int connect_to(int port, const std::string& bind_address) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  if (!bind_address.empty()) {
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, bind_address.c_str(), &src.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src) != 0) {
      close(fd);
      throw std::runtime_error("cannot bind to " + bind_address);
    }
  }
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string serialize(int port, const HttpRequest& r) {
  std::string out = fmt::format("{} {} HTTP/1.1\r\n", r.method, r.target);
  bool has_host = std::any_of(r.headers.begin(), r.headers.end(), [](const auto& h) {
    std::string n = h.first;
    std::transform(n.begin(), n.end(), n.begin(), ::tolower);
    return n == "host";
  });
  if (!has_host) out += fmt::format("Host: 127.0.0.1:{}\r\n", port);
  for (const auto& [k, v] : r.headers) out += k + ": " + v + "\r\n";
  if (!r.body.empty() || r.method == "POST") out += fmt::format("Content-Length: {}\r\n", r.body.size());
  out += "Connection: close\r\n\r\n";
  return out + r.body;
}

void send_all(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string dechunk(const std::string& body) {
  std::string out;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string::npos) break;
    size_t len = std::stoul(body.substr(pos, eol - pos), nullptr, 16);
    if (len == 0) break;
    out += body.substr(eol + 2, len);
    pos = eol + 2 + len + 2;
  }
  return out;
}

}  // namespace

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

HttpResponse http_request(int port, const HttpRequest& request, util::Millis timeout) {
  HttpResponse out;
  int fd = connect_to(port, request.bind_address);
  if (fd < 0) return out;
  send_all(fd, serialize(port, request));
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  size_t end = data.find("\r\n\r\n");
  if (end == std::string::npos) return out;
  std::string head = data.substr(0, end);
  std::string body = data.substr(end + 4);
  size_t line_end = head.find("\r\n");
  std::string status_line = head.substr(0, line_end);
  if (status_line.size() >= 12) out.status = std::stoi(status_line.substr(9, 3));
  size_t pos = line_end == std::string::npos ? head.size() : line_end + 2;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    std::string line = head.substr(pos, eol - pos);
    size_t colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      out.headers.emplace(name, value);
    }
    pos = eol + 2;
  }
  out.body = out.header("transfer-encoding") == "chunked" ? dechunk(body) : body;
  return out;
}

HttpResponse http_get(int port, const std::string& target,
                      const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest r;
  r.target = target;
  r.headers = headers;
  return http_request(port, r);
}

HttpResponse http_post_same_origin(int port, const std::string& target, const std::string& body,
                                   const std::vector<std::pair<std::string, std::string>>& headers) {
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.body = body;
  r.headers = {{"Origin", fmt::format("http://127.0.0.1:{}", port)},
               {"X-Pgshift-Request", "1"},
               {"Content-Type", "application/json"}};
  for (const auto& h : headers) r.headers.push_back(h);
  return http_request(port, r);
}

void http_send_and_close(int port, const HttpRequest& request, util::Millis after) {
  int fd = connect_to(port, request.bind_address);
  if (fd < 0) return;
  send_all(fd, serialize(port, request));
  std::this_thread::sleep_for(after);
  close(fd);
}

std::string url_encode(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

}  // namespace pgshift::testing
