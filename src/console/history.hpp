// The console's query history: per identity, the last statements that identity ran itself (the
// SQL tab, a table's exact count), newest first, with time, duration, rows and outcome. Kept by
// the server, so a person sees it from any browser, and never shows one identity another's.
// The audit log stays the record; this is a convenience view fed from the same audit records
// (add() takes the record the audit log wrote, redacted the same way).
//
// Bounds (Limits): at most per_identity entries per identity (the oldest dropped first); a
// statement longer than statement_bytes is kept cut (on a character boundary) with "cut": true
// and its full size in "statement_bytes" (it is not offered for a re-run); at most identities
// identities and total_bytes of kept text: beyond either, the identity whose last statement is
// oldest loses its whole history. A flood of identities therefore cannot grow memory without
// limit.
//
// Persistence: none by default (cleared on restart). With a file (--history-file), entries are
// appended as JSON lines ({"identity", "entry": {...}} and {"identity", "clear": true} for a
// clear), loaded at start (a line that is not one of those is skipped with a warning naming its
// number), and the file is rewritten with only the kept entries when it holds more than twice as
// many lines as are kept (plus compact_slack). The file is opened without following a symbolic
// link, must be a regular file, and is kept at mode 0600 (created so; tightened when looser).
//
// An entry (JSON, as /api/history serves it):
//   {"id": correlation id (as in the audit log), "time": "2026-12-01T19:41:39.123Z",
//    "route": "api_sql" | "api_table_count", "statement": text (redacted; cut when "cut"),
//    "statement_bytes": full size, "cut": bool, "outcome": "ok" | "rejected" | "error" |
//    "timeout" | "cancelled", "rule": gate rule or null, "sqlstate": or null, "message": or null,
//    "duration_ms": x, "rows": n, "truncated": bool}
//
// Thread-safe: every member takes one mutex (file appends included; they are one short line).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <deque>

#include "audit/audit.hpp"

namespace pgshift::console {

class History {
 public:
  struct Limits {
    size_t per_identity = 100;
    size_t identities = 1'000;
    size_t statement_bytes = 16 * 1024;
    size_t total_bytes = 32u << 20;
    size_t compact_slack = 1'000;  // lines the file may hold beyond twice the kept entries
  };

  // file: "" keeps the history in memory only. Throws RuntimeError naming the file when it cannot
  // be opened or read, or is not a regular file.
  explicit History(std::string file = "");
  History(std::string file, Limits limits);
  ~History();
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  // Keeps the statement of an audit record under record.identity.
  void add(const audit::Record& record);
  // The identity's entries, newest first (outcome: only those with that outcome).
  nlohmann::json entries(const std::string& identity, const std::optional<std::string>& outcome = std::nullopt) const;
  // One entry of the identity's, by id; nullopt when that identity has none with that id.
  std::optional<nlohmann::json> find(const std::string& identity, const std::string& id) const;
  // Forgets the identity's entries; the number forgotten.
  size_t clear(const std::string& identity);

  size_t identities() const;
  size_t bytes() const;
  const Limits& limits() const { return limits_; }
  bool persisted() const { return fd_ >= 0; }

 private:
  struct Kept {
    std::deque<nlohmann::json> entries;  // oldest first
    size_t bytes = 0;
    unsigned long long last_used = 0;
  };
  void keep(const std::string& identity, nlohmann::json entry);  // mutex held
  void forget(const std::string& identity);                      // mutex held
  void load();
  void append(const nlohmann::json& line);  // mutex held
  void compact_if_large();                  // mutex held
  void compact();                           // mutex held

  std::string file_;
  Limits limits_;
  int fd_ = -1;
  size_t file_lines_ = 0;
  size_t kept_entries_ = 0;
  size_t total_bytes_ = 0;
  unsigned long long clock_ = 0;
  std::map<std::string, Kept> by_identity_;
  mutable std::mutex mutex_;
};

// The outcomes an entry can have, for checking a ?outcome= parameter.
bool is_history_outcome(std::string_view outcome);

}  // namespace pgshift::console
