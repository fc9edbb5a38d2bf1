// The audit trail of the read-only window (console, MCP): one JSON line per statement a surface
// runs for someone, written to a file (appended, mode 0600) or stdout ("-").
//
// A line (keys always present, in this order; null where not applicable):
//   {"time": "2026-12-01T19:41:39.123Z", "surface": "console", "identity": "alice@example.com",
//    "client_address": "127.0.0.1", "session_id": "…", "correlation_id": "3f9c0a1b2c3d4e5f",
//    "statement": "SELECT …", "normalized": "SELECT … WHERE id = $1", "fingerprint": "…",
//    "outcome": "ok" | "rejected" | "error" | "timeout" | "cancelled",
//    "rule": gate rule when rejected, "sqlstate": SQLSTATE when error, "message": why, when not ok,
//    "duration_ms": 12.5, "rows": 100, "truncated": false, "bytes": 5120,
//    "extra": {surface-specific fields: MCP's tool, clientInfo, …}}
//
// Contract: write() is thread-safe and writes whole lines (one write per record, flushed), so
// concurrent requests never interleave. Passwords never appear: the statement, the message and
// every string in `extra` pass through redact_statement() (PASSWORD '…' literals, passwords in
// connection strings, every secret registered with util::redact). Tokens are not recorded at all.
// An observer (set_observer) sees each record after it is written (metrics count outcomes there).
#pragma once

#include <chrono>
#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pgshift::audit {

enum class Outcome { ok, rejected, error, timeout, cancelled };
const char* outcome_name(Outcome outcome);

struct Record {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::string surface;
  std::string identity;
  std::string client_address;
  std::string session_id;
  std::string correlation_id;
  std::string statement;
  std::string normalized;
  std::string fingerprint;
  Outcome outcome = Outcome::ok;
  std::string rule;      // rejected
  std::string sqlstate;  // error
  std::string message;   // not ok
  double duration_ms = 0;
  long long rows = 0;
  bool truncated = false;
  long long bytes = 0;   // value bytes returned
  nlohmann::json extra = nlohmann::json::object();

  nlohmann::ordered_json to_json() const;  // redacted, as written
};

class Log {
 public:
  // target: "" (no audit log: records go only to the observer), "-" (stdout), or a file path
  // (created 0600, appended). Throws RuntimeError when the file cannot be opened.
  explicit Log(const std::string& target);
  ~Log();
  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

  void write(const Record& record);
  void set_observer(std::function<void(const Record&)> observer);
  bool enabled() const { return out_ != nullptr; }

 private:
  std::mutex mutex_;
  std::FILE* out_ = nullptr;
  bool owned_ = false;
  std::string target_;
  std::function<void(const Record&)> observer_;
};

// 16 lowercase hex characters from OpenSSL's RAND_bytes (64 random bits).
std::string new_correlation_id();
// 32 lowercase hex characters (128 random bits): session ids, cookie values.
std::string new_session_id();
// n random bytes as lowercase hex.
std::string random_hex(size_t bytes);

// "pgshift/<surface>/<correlation_id>", cut to 63 bytes (PostgreSQL's NAMEDATALEN - 1).
std::string application_name(std::string_view surface, std::string_view correlation_id);

// Text with PASSWORD '…' literals, connection-string passwords and registered secrets replaced
// by ****.
std::string redact_statement(std::string_view text);

}  // namespace pgshift::audit
