#include "cutover/pooler.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "pg/error.hpp"
#include "util/error.hpp"

namespace pgshift::cutover {

std::string pooler_ident(const std::string& name) {
  bool plain = !name.empty();
  for (char c : name) plain = plain && (std::isalnum(static_cast<unsigned char>(c)) || c == '_');
  if (plain) return name;
  if (name.find('"') != std::string::npos) {
    throw UsageError(fmt::format("--pooler-db '{}': a database name with a double quote cannot be paused", name));
  }
  return "\"" + name + "\"";
}

PoolerAdmin::PoolerAdmin(pg::ConnInfo admin) : info_(std::move(admin)) {}

pg::Connection& PoolerAdmin::conn() {
  if (!conn_ || !conn_->is_ok()) conn_.emplace(pg::Connection::open(info_, "pooler"));
  return *conn_;
}

bool PoolerAdmin::pause(const std::string& db, util::Millis timeout) {
  pg::Connection& c = conn();
  std::string command = "PAUSE " + pooler_ident(db);
  if (!PQsendQuery(c.raw(), command.c_str())) {
    throw pg::SqlError(c.endpoint(), "08006", pg::one_line(PQerrorMessage(c.raw())));
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (!PQconsumeInput(c.raw())) {
      throw pg::SqlError(c.endpoint(), "08006", pg::one_line(PQerrorMessage(c.raw())));
    }
    if (!PQisBusy(c.raw())) break;
    auto left = std::chrono::duration_cast<util::Millis>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      // PAUSE is still waiting for transactions to end: undo it from a second connection and
      // drop this one (its pending PAUSE result is of no use).
      spdlog::warn("PgBouncer could not pause '{}' within {}: resuming", db, util::format_duration(timeout));
      conn_.reset();
      PoolerAdmin other(info_);
      other.resume(db);
      return false;
    }
    pollfd pfd{PQsocket(c.raw()), POLLIN, 0};
    poll(&pfd, 1, static_cast<int>(std::min<long long>(left.count(), 50)));
  }
  std::string error;
  while (PGresult* res = PQgetResult(c.raw())) {
    if (PQresultStatus(res) == PGRES_FATAL_ERROR) error = pg::one_line(PQresultErrorMessage(res));
    PQclear(res);
  }
  if (!error.empty()) throw pg::SqlError(c.endpoint(), "", fmt::format("PAUSE {}: {}", db, error));
  return true;
}

void PoolerAdmin::resume(const std::string& db) {
  try {
    conn().exec_simple("RESUME " + pooler_ident(db));
  } catch (const pg::SqlError& e) {
    // RESUME of a database that is not paused is an error in PgBouncer; that is the state we want.
    if (e.server_message().find("not paused") == std::string::npos) throw;
  }
}

void PoolerAdmin::reload() { conn().exec_simple("RELOAD"); }

std::vector<PoolerDatabase> PoolerAdmin::databases() {
  pg::Result r = conn().exec_simple("SHOW DATABASES");
  std::vector<PoolerDatabase> out;
  for (int i = 0; i < r.rows(); ++i) {
    pg::Row row = r.row(i);
    PoolerDatabase d;
    d.name = row.text("name");
    d.endpoint = {row.text("host"), row.text("port"), row.text("database")};
    d.paused = row.int64("paused") != 0;
    d.disabled = row.int64("disabled") != 0;
    out.push_back(std::move(d));
  }
  return out;
}

std::optional<PoolerDatabase> PoolerAdmin::database(const std::string& db) {
  for (auto& d : databases()) {
    if (d.name == db) return d;
  }
  return std::nullopt;
}

}  // namespace pgshift::cutover
