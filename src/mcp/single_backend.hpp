// A Backend on one connection per database (the inspected one and, when different, the
// journal's): calls take turns on it. Enough for one stdio client; the HTTP server uses the
// shared pool (mcp/pool_backend.hpp). The connection carries the correlation id as
// application_name while a call runs and is cleaned (query::clean_session) after each call, and
// replaced when cleaning fails. Audit records go to an injected sink.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "mcp/server.hpp"
#include "pg/conninfo.hpp"

namespace pgshift::mcp {

class SingleBackend : public Backend {
 public:
  using AuditSink = std::function<void(const nlohmann::json&)>;
  SingleBackend(pg::ConnInfo db, std::optional<pg::ConnInfo> journal, AuditSink sink);

  void with_database(const Caller& caller, const std::string& application_name,
                     const std::function<void(pg::Connection&)>& fn) override;
  void with_journal(const Caller& caller, const std::string& application_name,
                    const std::function<void(pg::Connection&)>& fn) override;
  void audit(const nlohmann::json& record) override;

 private:
  struct Slot {
    pg::ConnInfo info;
    std::mutex mutex;
    std::optional<pg::Connection> conn;
  };
  static void use(Slot& slot, const std::string& application_name, const std::function<void(pg::Connection&)>& fn);

  std::unique_ptr<Slot> db_;
  std::unique_ptr<Slot> journal_;  // null: the journal is db_
  AuditSink sink_;
};

}  // namespace pgshift::mcp
