// Editing a PgBouncer ini file's [databases] entry: the switch step points the application's
// database at the new writer by rewriting host, port and dbname of one entry, keeping every
// other key of that entry (user, pool_size, ...) and every other line of the file untouched.
#pragma once

#include <optional>
#include <string>

namespace pgshift::cutover {

struct PoolerEndpoint {
  std::string host;
  std::string port;
  std::string dbname;
  bool operator==(const PoolerEndpoint&) const = default;
  std::string display() const;  // host:port/dbname
};

// Parses "host:port/dbname" (what --pooler-route takes); UsageError naming `what` otherwise.
PoolerEndpoint parse_pooler_endpoint(const std::string& text, const std::string& what);

// The endpoint an entry currently points at; nullopt when the file has no such entry.
std::optional<PoolerEndpoint> read_database_entry(const std::string& ini_text, const std::string& db);

// Returns ini_text with entry `db` pointing at `to`. Throws UsageError naming the database
// when the [databases] section has no entry for it (a wildcard "*" entry is not rewritten).
std::string rewrite_database_entry(const std::string& ini_text, const std::string& db, const PoolerEndpoint& to);

// Rewrites the file atomically (temp file + rename in the same directory, same owner and mode).
// Returns the previous text so the caller can restore it.
std::string rewrite_config_file(const std::string& path, const std::string& db, const PoolerEndpoint& to);

// Atomically replaces the file's content (restore after a failed switch).
void write_config_file(const std::string& path, const std::string& text);

std::string read_config_file(const std::string& path);

}  // namespace pgshift::cutover
