// Connection parameters for one server, parsed from a URL (postgresql://user:pw@host:port/db?...)
// or a key=value string, exactly as libpq understands them (PQconninfoParse). The password is
// registered with util::redact on parse; redacted() is what every message shows:
// "user@host:port/db" without the password.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgshift::pg {

class ConnInfo {
 public:
  ConnInfo() = default;

  // Parses text. what names its origin for the error ("--source", "PGSHIFT_TARGET_URL",
  // "pgshift.yaml: target"). Throws UsageError on malformed input.
  static ConnInfo parse(std::string_view text, std::string_view what);

  // Reads and parses an environment variable; nullopt when it is unset or empty.
  static std::optional<ConnInfo> from_env(const char* variable);

  bool empty() const { return params_.empty(); }
  std::string get(const std::string& key) const;  // "" when unset
  void set(const std::string& key, std::string value);
  void erase(const std::string& key);

  std::string host() const;    // first host, or "localhost" for the default socket
  std::string port() const;    // "5432" when unset
  std::string dbname() const;  // defaults to the user, as libpq does
  std::string user() const;    // defaults to $PGUSER or the OS user
  const std::map<std::string, std::string>& params() const { return params_; }

  // "user@host:port/db": safe for any output.
  std::string redacted() const;

  // A key='value' string for libpq or CREATE SUBSCRIPTION ... CONNECTION, including the
  // password. Never print it.
  std::string to_conninfo() const;

  // The same with the same database on another name, e.g. for a scratch database.
  ConnInfo with_dbname(std::string dbname) const;

 private:
  std::map<std::string, std::string> params_;  // only the keys that were set
};

// Where passwords are written in text that may hold connection strings (URL user info,
// password=... in a URL query or a key=value string, anywhere in the text, e.g.
// "--source=postgresql://u:pw@h/db"): [begin, end) byte ranges, as written (not decoded).
// Found by syntax alone, before and whether or not libpq can parse the text.
std::vector<std::pair<size_t, size_t>> password_spans(std::string_view text);

// Registers the passwords of password_spans(text) for redaction, as written (and, for one
// holding an unencoded '@', each piece libpq may show as part of the host).
void register_written_passwords(std::string_view text);

// Quotes a value for a key='value' conninfo string (backslash and single quote escaped).
std::string conninfo_quote(std::string_view value);

}  // namespace pgshift::pg
