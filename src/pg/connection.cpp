#include "pg/connection.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <mutex>

#include "pg/error.hpp"
#include "util/redact.hpp"

namespace pgshift::pg {
namespace {

std::mutex& defaults_mutex() {
  static std::mutex m;
  return m;
}

ConnectOptions& defaults() {
  static ConnectOptions options;
  return options;
}

// libpq's paramValues for params: text values, nullptr for NULL (pointing into params).
std::vector<const char*> param_values(const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.value() ? p.value()->c_str() : nullptr);
  return values;
}

void log_notice(void*, const char* message) {
  spdlog::debug("server: {}", one_line(message));
}

// libpq prefixes its messages with 'connection to server at "h" (addr), port N failed:'; the
// endpoint is already in our message, so keep only the cause.
std::string connect_cause(std::string_view libpq_message) {
  std::string msg = one_line(libpq_message);
  constexpr std::string_view marker = "failed: ";
  if (msg.rfind("connection to server", 0) == 0) {
    if (size_t at = msg.find(marker); at != std::string::npos) msg = msg.substr(at + marker.size());
  }
  if (msg.empty()) msg = "unknown error";
  return msg;
}

}  // namespace

void set_default_connect_options(ConnectOptions options) {
  std::lock_guard lock(defaults_mutex());
  defaults() = std::move(options);
}

const ConnectOptions& default_connect_options() {
  std::lock_guard lock(defaults_mutex());
  return defaults();
}

Param::Param(double value) : value_(fmt::format("{}", value)) {}

Connection Connection::open(const ConnInfo& info, std::string role) {
  ConnectOptions options = default_connect_options();
  options.role = std::move(role);
  return open(info, options);
}

Connection Connection::open(const ConnInfo& info, const ConnectOptions& options) {
  std::string endpoint = options.role.empty() ? info.redacted() : options.role + " " + info.redacted();
  std::vector<std::string> keys, values;
  for (const auto& [k, v] : info.params()) {
    if (k == "application_name" || k == "connect_timeout") continue;
    keys.push_back(k);
    values.push_back(v);
  }
  keys.emplace_back("application_name");
  values.push_back(options.application_name);
  // libpq's own timeout backs up our deadline below (it counts whole seconds, at least 2).
  keys.emplace_back("connect_timeout");
  values.push_back(std::to_string(std::max<long long>(2, (options.connect_timeout.count() + 999) / 1000)));
  std::vector<const char*> kp, vp;
  for (size_t i = 0; i < keys.size(); ++i) {
    kp.push_back(keys[i].c_str());
    vp.push_back(values[i].c_str());
  }
  kp.push_back(nullptr);
  vp.push_back(nullptr);

  PGconn* raw = PQconnectStartParams(kp.data(), vp.data(), 0);
  if (raw == nullptr) throw ConnectError(endpoint, "out of memory");
  std::unique_ptr<PGconn, Closer> conn(raw);
  if (PQstatus(raw) == CONNECTION_BAD) throw ConnectError(endpoint, connect_cause(PQerrorMessage(raw)));

  auto deadline = std::chrono::steady_clock::now() + options.connect_timeout;
  PostgresPollingStatusType state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) throw ConnectError(endpoint, connect_cause(PQerrorMessage(raw)));
    auto left = std::chrono::duration_cast<util::Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      throw ConnectError(endpoint, fmt::format("no answer within {} (--connect-timeout); is it a "
                                               "PostgreSQL server and reachable?",
                                               util::format_duration(options.connect_timeout)));
    }
    pollfd pfd{PQsocket(raw), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT), 0};
    int ready = pfd.fd < 0 ? 1 : poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 100)));
    if (ready > 0 || ready < 0) state = PQconnectPoll(raw);
  }
  Connection c(conn.release(), info, options.role);
  return c;
}

Connection::Connection(PGconn* conn, ConnInfo info, std::string role)
    : conn_(conn), info_(std::move(info)), role_(std::move(role)) {
  PQsetNoticeProcessor(conn, log_notice, nullptr);
  cancel_.reset(PQgetCancel(conn));
}

Connection::~Connection() = default;

std::string Connection::endpoint() const {
  return role_.empty() ? info_.redacted() : role_ + " " + info_.redacted();
}

int Connection::server_version() const { return PQserverVersion(conn_.get()); }

bool Connection::is_ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }

Result Connection::check(PGresult* res, std::string_view sql) {
  if (res == nullptr) {
    throw SqlError(endpoint(), "08006", one_line(PQerrorMessage(conn_.get())));
  }
  Result result(res);
  switch (PQresultStatus(res)) {
    case PGRES_COMMAND_OK:
    case PGRES_TUPLES_OK:
    case PGRES_EMPTY_QUERY:
    case PGRES_COPY_IN:
    case PGRES_COPY_OUT:
    case PGRES_COPY_BOTH:
      return result;
    default: break;
  }
  auto field = [&](int code) {
    const char* v = PQresultErrorField(res, code);
    return std::string(v ? v : "");
  };
  std::string message = field(PG_DIAG_MESSAGE_PRIMARY);
  if (message.empty()) message = one_line(PQresultErrorMessage(res));
  if (message.empty()) message = one_line(PQerrorMessage(conn_.get()));
  std::string sqlstate = field(PG_DIAG_SQLSTATE);
  if (sqlstate.empty() && PQstatus(conn_.get()) == CONNECTION_BAD) sqlstate = "08006";
  spdlog::debug("{}: statement failed: {}: {}", endpoint(), one_line(sql).substr(0, 200), message);
  throw SqlError(endpoint(), sqlstate, message, field(PG_DIAG_MESSAGE_DETAIL), field(PG_DIAG_MESSAGE_HINT),
                 std::atoi(field(PG_DIAG_STATEMENT_POSITION).c_str()));
}

Result Connection::exec(std::string_view sql, const Params& params) {
  std::string text(sql);
  std::vector<const char*> values = param_values(params);
  PGresult* res = PQexecParams(conn_.get(), text.c_str(), static_cast<int>(values.size()), nullptr,
                               values.data(), nullptr, nullptr, 0);
  return check(res, sql);
}

Result Connection::exec_prepared(const std::string& name, std::string_view sql, const Params& params) {
  if (!prepared_.contains(name)) {
    std::string text(sql);
    check(PQprepare(conn_.get(), name.c_str(), text.c_str(), static_cast<int>(params.size()), nullptr), sql);
    prepared_.insert(name);
  }
  std::vector<const char*> values = param_values(params);
  try {
    return check(PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()), values.data(), nullptr,
                                nullptr, 0),
                 sql);
  } catch (const SqlError& e) {
    if (e.sqlstate() == "26000") prepared_.erase(name);  // deallocated behind our back
    throw;
  }
}

Result Connection::exec_simple(std::string_view sql) {
  std::string text(sql);
  return check(PQexec(conn_.get(), text.c_str()), sql);
}

Result Connection::next_result(std::string_view what) {
  PGresult* res = PQgetResult(conn_.get());
  if (res == nullptr) return Result();
  return check(res, what);
}

void Connection::reset() {
  prepared_.clear();  // a new session
  PQreset(conn_.get());
  if (PQstatus(conn_.get()) != CONNECTION_OK) throw ConnectError(endpoint(), connect_cause(PQerrorMessage(conn_.get())));
  cancel_.reset(PQgetCancel(conn_.get()));
}

void Connection::cancel() {
  if (!cancel_) return;
  char err[256];
  PQcancel(cancel_.get(), err, sizeof err);
}

}  // namespace pgshift::pg
