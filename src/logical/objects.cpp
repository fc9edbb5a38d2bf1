// Publication, subscription and slot statements, and the source capacity check.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <thread>

#include "catalog/catalog.hpp"
#include "ddl/ddl.hpp"
#include "pg/conninfo.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "logical/logical.hpp"
#include "stats/subscription_progress.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

namespace pgshift::logical {
namespace {

constexpr std::string_view kPublicationExistsSql = "SELECT count(*) FROM pg_publication WHERE pubname = $1";

// The subscription's own slot, and the table-sync slots PostgreSQL 14+ names
// pg_<subscription oid>_sync_<table oid>_<system id>. Slots are server-wide but a logical slot
// belongs to one database: a slot of that name in another database is another migration's.
constexpr std::string_view kSubscriptionSlotsSql = R"sql(
SELECT slot_name FROM pg_replication_slots
 WHERE database = current_database()
   AND (slot_name = $1 OR ($2::text IS NOT NULL AND slot_name LIKE 'pg\_' || $2 || '\_sync\_%'))
 ORDER BY slot_name
)sql";

constexpr std::string_view kSlotDatabaseSql = "SELECT database FROM pg_replication_slots WHERE slot_name = $1";

constexpr std::string_view kTerminateWorkersSql = R"sql(
SELECT pg_terminate_backend(pid) FROM pg_stat_subscription WHERE subname = $1 AND pid IS NOT NULL
)sql";

constexpr std::string_view kSlotActiveSql =
    "SELECT active, active_pid FROM pg_replication_slots WHERE slot_name = $1";

// The password appears in CREATE SUBSCRIPTION's text escaped twice (conninfo quoting, then SQL
// literal quoting). Register those forms too, so even a debug log of the text shows "****".
void register_escaped_password(const pg::ConnInfo& source) {
  std::string password = source.get("password");
  if (password.empty()) return;
  std::string in_conninfo = pg::conninfo_quote(password);
  in_conninfo = in_conninfo.substr(1, in_conninfo.size() - 2);
  std::string in_literal = pg::quote_literal(in_conninfo);
  size_t open = in_literal.find('\'');
  in_literal = in_literal.substr(open + 1, in_literal.size() - open - 2);
  util::register_secret(in_conninfo);
  util::register_secret(in_literal);
}

// Session settings that keep the server from writing a statement's text to its log. They need
// superuser (which creating a subscription needs up to PostgreSQL 15 anyway); without it the
// server keeps its defaults, under which only a failing statement is logged.
constexpr std::string_view kQuietLogSettings[] = {"log_statement", "log_min_error_statement",
                                                  "log_min_duration_statement"};
constexpr std::string_view kQuietLogValues[] = {"none", "panic", "-1"};

void quiet_server_log(pg::Connection& target, bool quiet) {
  for (size_t i = 0; i < std::size(kQuietLogSettings); ++i) {
    try {
      if (quiet) {
        target.exec(fmt::format("SET {} = {}", kQuietLogSettings[i], pg::quote_literal(kQuietLogValues[i])));
      } else {
        target.exec(fmt::format("RESET {}", kQuietLogSettings[i]));
      }
    } catch (const pg::SqlError& e) {
      spdlog::debug("{} {}: {}", quiet ? "set" : "reset", kQuietLogSettings[i], e.server_message());
    }
  }
}

void drop_slot_when_inactive(pg::Connection& source, const std::string& slot, util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = util::Millis(20);
  while (true) {
    pg::Result r = source.exec(kSlotActiveSql, {slot});
    if (r.empty()) return;  // gone already
    if (!r.row(0).boolean("active")) {
      try {
        source.exec("SELECT pg_drop_replication_slot($1)", {slot});
        return;
      } catch (const pg::SqlError& e) {
        // 42704: dropped meanwhile; 55006: became active again (the walsender had not exited).
        if (e.sqlstate() == "42704") return;
        if (e.sqlstate() != "55006") throw;
      }
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RuntimeError(fmt::format("{}: replication slot '{}' is still in use by pid {}; stop that consumer and "
                                     "run pgshift sync stop again",
                                     source.endpoint(), slot, r.row(0).text("active_pid")));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, util::Millis(200));
  }
}

}  // namespace

void exec_ddl(pg::Connection& conn, const std::string& sql) {
  pg::Transaction tx(conn);
  conn.exec("SET LOCAL lock_timeout = '5s'");
  try {
    conn.exec(sql);
  } catch (const pg::SqlError& e) {
    if (e.sqlstate() == "55P03") {
      throw RuntimeError(fmt::format("{}: {} (a long transaction holds a lock on the table; lock_timeout 5s); "
                                     "retry when it has finished",
                                     conn.endpoint(), e.server_message()));
    }
    throw;
  }
  tx.commit();
}

void check_publisher_capacity(pg::Connection& source) {
  catalog::ServerInfo s = catalog::read_server_info(source);
  if (s.setting("wal_level") != "logical") {
    throw ProblemsFound(fmt::format("{}: wal_level is '{}'; logical replication needs 'logical' (ALTER SYSTEM SET "
                                    "wal_level = logical and restart the source)",
                                    source.endpoint(), s.setting("wal_level")));
  }
  int64_t slots = s.setting_int("max_replication_slots");
  if (s.replication_slots_in_use >= slots) {
    throw ProblemsFound(fmt::format("{}: no replication slot left free (max_replication_slots = {}, {} in use); drop "
                                    "unused slots or raise max_replication_slots (restart needed)",
                                    source.endpoint(), slots, s.replication_slots_in_use));
  }
  int64_t senders = s.setting_int("max_wal_senders");
  if (s.walsenders_in_use >= senders) {
    throw ProblemsFound(fmt::format("{}: no WAL sender left free (max_wal_senders = {}, {} in use); raise "
                                    "max_wal_senders (restart needed)",
                                    source.endpoint(), senders, s.walsenders_in_use));
  }
}

// The tables' quoted names, plus pgshift.ddl_log where schema changes are followed (ddl.hpp):
// its rows must travel in the same stream as the tables' rows.
static std::vector<std::string> quoted_with_ddl_log(pg::Connection& publisher, const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> quoted;
  for (const auto& t : tables) quoted.push_back(t.quoted());
  if (ddl::installed(publisher)) quoted.push_back(ddl::log_table().quoted());
  return quoted;
}

void create_publication(pg::Connection& source, const std::string& name,
                        const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> quoted = quoted_with_ddl_log(source, tables);
  // publish_via_partition_root: changes of partitions are published as changes of the root, so
  // the target may partition differently (or not at all).
  exec_ddl(source, fmt::format("CREATE PUBLICATION {} FOR TABLE {} WITH (publish_via_partition_root = true)",
                               pg::quote_ident(name), fmt::join(quoted, ", ")));
}

void add_publication_tables(pg::Connection& publisher, const std::string& name,
                            const std::vector<catalog::TableRef>& tables) {
  if (tables.empty()) return;
  std::vector<std::string> quoted;
  for (const auto& t : tables) quoted.push_back(t.quoted());
  exec_ddl(publisher, fmt::format("ALTER PUBLICATION {} ADD TABLE {}", pg::quote_ident(name), fmt::join(quoted, ", ")));
}

void set_publication_tables(pg::Connection& publisher, const std::string& name,
                            const std::vector<catalog::TableRef>& tables) {
  std::vector<std::string> quoted = quoted_with_ddl_log(publisher, tables);
  exec_ddl(publisher, fmt::format("ALTER PUBLICATION {} SET TABLE {}", pg::quote_ident(name), fmt::join(quoted, ", ")));
}

void refresh_subscription(pg::Connection& subscriber, const std::string& name) {
  // Not in a transaction block: REFRESH PUBLICATION cannot run inside one.
  subscriber.exec(fmt::format("ALTER SUBSCRIPTION {} REFRESH PUBLICATION WITH (copy_data = true)", pg::quote_ident(name)));
}

bool publication_exists(pg::Connection& source, const std::string& name) {
  return source.exec(kPublicationExistsSql, {name}).scalar_int64() > 0;
}

bool drop_publication(pg::Connection& source, const std::string& name) {
  if (!publication_exists(source, name)) return false;
  exec_ddl(source, "DROP PUBLICATION IF EXISTS " + pg::quote_ident(name));
  return true;
}

void create_subscription(pg::Connection& subscriber, const SubscriptionSpec& spec) {
  register_escaped_password(spec.publisher);
  quiet_server_log(subscriber, true);
  try {
    // Not in a transaction block: creating the slot on the publisher cannot run inside one.
    subscriber.exec(fmt::format("CREATE SUBSCRIPTION {} CONNECTION {} PUBLICATION {} "
                                "WITH (slot_name = {}, create_slot = {}, copy_data = {}, enabled = {})",
                                pg::quote_ident(spec.name), pg::quote_literal(spec.publisher.to_conninfo()),
                                pg::quote_ident(spec.publication), pg::quote_literal(spec.name),
                                spec.create_slot ? "true" : "false", spec.copy_data ? "true" : "false",
                                spec.enabled ? "true" : "false"));
  } catch (...) {
    quiet_server_log(subscriber, false);
    throw;
  }
  quiet_server_log(subscriber, false);
}

void create_logical_slot(pg::Connection& publisher, const std::string& name) {
  publisher.exec("SELECT pg_create_logical_replication_slot($1, 'pgoutput')", {name});
}

void drop_slot(pg::Connection& publisher, const std::string& name, util::Millis timeout) {
  drop_slot_when_inactive(publisher, name, timeout);
}

void drop_detached_subscription(pg::Connection& subscriber, const std::string& name) {
  std::string ident = pg::quote_ident(name);
  if (!stats::subscription_progress(subscriber, name).exists) return;
  set_subscription_enabled(subscriber, name, false);
  subscriber.exec("ALTER SUBSCRIPTION " + ident + " SET (slot_name = NONE)");
  subscriber.exec("DROP SUBSCRIPTION " + ident);
}

void set_subscription_enabled(pg::Connection& subscriber, const std::string& name, bool enabled,
                              util::Millis timeout) {
  subscriber.exec(fmt::format("ALTER SUBSCRIPTION {} {}", pg::quote_ident(name), enabled ? "ENABLE" : "DISABLE"));
  if (enabled) return;
  // A disabled subscription's workers exit when they next look at the catalog, which an idle
  // apply worker does about once a second. Ending them now is what DROP SUBSCRIPTION does too;
  // the launcher does not restart workers of a disabled subscription.
  subscriber.exec(kTerminateWorkersSql, {name});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = util::Millis(2);
  while (true) {
    stats::SubscriptionProgress p = stats::subscription_progress(subscriber, name);
    if (!p.apply_pid && p.sync_workers == 0) return;
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RuntimeError(fmt::format("{}: the apply worker of subscription '{}' did not stop within {}",
                                     subscriber.endpoint(), name, util::format_duration(timeout)));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, util::Millis(50));
  }
}

std::vector<std::string> subscription_slots(pg::Connection& source, const std::string& name,
                                            std::optional<uint32_t> subscription_oid) {
  std::vector<std::string> out;
  pg::Result r = source.exec(kSubscriptionSlotsSql,
                             {name, subscription_oid ? pg::Param(std::to_string(*subscription_oid))
                                                     : pg::Param(std::nullopt)});
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.row(i).text("slot_name"));
  return out;
}

bool slot_exists(pg::Connection& source, const std::string& name) {
  return !source.exec(kSlotActiveSql, {name}).empty();
}

std::optional<std::string> slot_database(pg::Connection& server, const std::string& name) {
  pg::Result r = server.exec(kSlotDatabaseSql, {name});
  if (r.empty()) return std::nullopt;
  return r.row(0).text("database");
}

DroppedSubscription drop_subscription(pg::Connection& source, pg::Connection& target, const std::string& name) {
  DroppedSubscription out;
  stats::SubscriptionProgress sub = stats::subscription_progress(target, name);
  std::optional<uint32_t>& oid = out.oid;
  if (sub.exists) oid = sub.oid;
  std::vector<std::string> before = subscription_slots(source, name, oid);
  if (sub.exists) {
    std::string ident = pg::quote_ident(name);
    try {
      // Stops the workers, then drops the slot and the table-sync slots on the publisher.
      target.exec("DROP SUBSCRIPTION " + ident);
    } catch (const pg::SqlError& e) {
      // Typically the target cannot reach the source any more. Detach the slot so the
      // subscription can go, and drop the slots from here below.
      spdlog::warn("DROP SUBSCRIPTION {} on the target failed ({}); detaching its slot and dropping it from "
                   "the source directly",
                   name, pg::one_line(e.server_message()));
      target.exec("ALTER SUBSCRIPTION " + ident + " DISABLE");
      target.exec("ALTER SUBSCRIPTION " + ident + " SET (slot_name = NONE)");
      target.exec("DROP SUBSCRIPTION " + ident);
    }
    out.dropped = true;
  }
  for (const auto& slot : subscription_slots(source, name, oid)) {
    drop_slot_when_inactive(source, slot, util::Millis(15'000));
  }
  out.slots = before;
  return out;
}

}  // namespace pgshift::logical
