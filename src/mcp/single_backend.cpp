#include "mcp/single_backend.hpp"

#include <spdlog/spdlog.h>

#include "query/session_hygiene.hpp"

namespace pgshift::mcp {
namespace {

constexpr std::string_view kSetApplicationName = "SELECT set_config('application_name', $1, false)";

}  // namespace

SingleBackend::SingleBackend(pg::ConnInfo db, std::optional<pg::ConnInfo> journal, AuditSink sink)
    : db_(std::make_unique<Slot>()), sink_(std::move(sink)) {
  db_->info = std::move(db);
  if (journal) {
    journal_ = std::make_unique<Slot>();
    journal_->info = std::move(*journal);
  }
}

void SingleBackend::use(Slot& slot, const std::string& application_name,
                        const std::function<void(pg::Connection&)>& fn) {
  std::lock_guard lock(slot.mutex);
  if (!slot.conn || !slot.conn->is_ok()) slot.conn.emplace(pg::Connection::open(slot.info, "db"));
  pg::Connection& conn = *slot.conn;
  conn.exec(kSetApplicationName, {application_name});
  struct Clean {
    Slot& slot;
    ~Clean() {
      if (!query::clean_session(*slot.conn)) {
        spdlog::warn("mcp: a connection could not be cleaned after a call; replacing it");
        slot.conn.reset();
      }
    }
  } clean{slot};
  fn(conn);
}

void SingleBackend::with_database(const Caller&, const std::string& application_name,
                                  const std::function<void(pg::Connection&)>& fn) {
  use(*db_, application_name, fn);
}

void SingleBackend::with_journal(const Caller&, const std::string& application_name,
                                 const std::function<void(pg::Connection&)>& fn) {
  use(journal_ ? *journal_ : *db_, application_name, fn);
}

void SingleBackend::audit(const nlohmann::json& record) {
  if (sink_) sink_(record);
}

}  // namespace pgshift::mcp
