// An RAII libpq connection. Every statement goes through exec(), which uses PQexecParams: values
// are bound parameters and the extended protocol refuses a second statement in the text.
// Server errors become pg::SqlError (SQLSTATE, message, redacted endpoint); a failed connect
// becomes pg::ConnectError within the connect timeout. Server notices go to the debug log.
// A Connection is used by one thread at a time; cancel() may be called from another thread.
#pragma once

#include <libpq-fe.h>

#include <concepts>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/conninfo.hpp"
#include "pg/lsn.hpp"
#include "pg/result.hpp"
#include "util/duration.hpp"

namespace pgshift::pg {

struct ConnectOptions {
  std::string application_name = "pgshift";  // shown in pg_stat_activity
  util::Millis connect_timeout{10'000};
  std::string role;  // "source", "target", ...: prefixes the endpoint in messages
};

// Process-wide defaults, set once by main() from the command and --connect-timeout.
void set_default_connect_options(ConnectOptions options);
const ConnectOptions& default_connect_options();

// One bound parameter in text format; nullopt is SQL NULL.
class Param {
 public:
  Param(std::nullopt_t) {}
  Param(std::string value) : value_(std::move(value)) {}
  Param(std::string_view value) : value_(std::string(value)) {}
  Param(const char* value) : value_(std::string(value)) {}
  Param(const std::optional<std::string>& value) : value_(value) {}
  Param(bool value) : value_(value ? "true" : "false") {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Param(T value) : value_(std::to_string(value)) {}
  Param(double value);
  Param(Lsn lsn) : value_(lsn.to_string()) {}
  const std::optional<std::string>& value() const { return value_; }

 private:
  std::optional<std::string> value_;
};
using Params = std::vector<Param>;

class Connection {
 public:
  // Connects, with a deadline of options.connect_timeout for the whole handshake.
  static Connection open(const ConnInfo& info, const ConnectOptions& options);
  static Connection open(const ConnInfo& info, std::string role = {});  // default options

  Connection(Connection&&) noexcept = default;
  Connection& operator=(Connection&&) noexcept = default;
  ~Connection();

  // Runs one statement with bound parameters. Throws SqlError.
  Result exec(std::string_view sql, const Params& params = {});

  // Runs a fixed statement prepared on this session under `name` (PQprepare on first use, then
  // PQexecPrepared), so the server parses it once per session and, after a few executions,
  // keeps a generic plan instead of planning every call. `name` must always stand for the same
  // text. If something else deallocated it (DEALLOCATE, DISCARD ALL), that call fails with
  // SQLSTATE 26000 and the next one prepares it again; reset() forgets every name.
  Result exec_prepared(const std::string& name, std::string_view sql, const Params& params = {});

  // Runs fixed text with the simple query protocol (several statements in one round trip, or a
  // console that does not speak the extended protocol, like PgBouncer's admin console); never
  // pass user-supplied text.
  Result exec_simple(std::string_view sql);

  // The next result of a statement whose data went through libpq's COPY API (PQgetResult),
  // checked as exec() checks it; an empty Result once there is none left. Used by pg/copy_stream.
  Result next_result(std::string_view what);

  // Asks the server to cancel the running statement. Safe from another thread.
  void cancel();

  // Re-establishes a broken (or stuck) connection with the same parameters (PQreset; libpq's
  // connect_timeout bounds it). Session state is lost. Throws ConnectError when it fails.
  void reset();

  int server_version() const;          // e.g. 150004
  bool is_ok() const;                  // connection not broken
  const ConnInfo& info() const { return info_; }
  std::string endpoint() const;        // "source postgres@127.0.0.1:5432/app"
  PGconn* raw() const { return conn_.get(); }

 private:
  struct Closer {
    void operator()(PGconn* c) const { PQfinish(c); }
  };
  Connection(PGconn* conn, ConnInfo info, std::string role);
  Result check(PGresult* res, std::string_view sql);

  std::unique_ptr<PGconn, Closer> conn_;
  std::set<std::string> prepared_;  // names exec_prepared() prepared on this session
  std::unique_ptr<PGcancel, void (*)(PGcancel*)> cancel_{nullptr, PQfreeCancel};
  ConnInfo info_;
  std::string role_;
};

}  // namespace pgshift::pg
