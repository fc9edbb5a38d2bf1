// pgshift's own apply loop (see apply.hpp): stream the slot, apply each transaction on the
// subscriber with its progress row, confirm what is durably applied.
#include "logical/apply.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <optional>
#include <thread>
#include <unordered_map>

#include "access/text_array.hpp"
#include "fence/fence.hpp"
#include "logical/apply_pipeline.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/replication_connection.hpp"

namespace pgshift::logical {
namespace {

using Clock = std::chrono::steady_clock;

// The progress table lives in schema pgshift on the subscriber (the catalog never reads or
// publishes that schema, so it is not replicated either way); see apply.hpp for why it is not on
// the target with the rest of the migration's state.
constexpr std::string_view kCreateProgressSql = R"sql(
CREATE TABLE IF NOT EXISTS pgshift.apply_progress (
  slot text PRIMARY KEY,
  lsn pg_lsn NOT NULL,
  xid bigint,
  applied_at timestamptz NOT NULL DEFAULT now()
))sql";
constexpr std::string_view kStoredLsnSql = R"sql(
SELECT lsn::text FROM pgshift.apply_progress WHERE slot = $1
)sql";
constexpr std::string_view kProgressTableExistsSql = "SELECT to_regclass('pgshift.apply_progress') IS NOT NULL";
constexpr std::string_view kSaveProgressSql = R"sql(
INSERT INTO pgshift.apply_progress (slot, lsn, xid, applied_at) VALUES ($1, $2::pg_lsn, $3, now())
ON CONFLICT (slot) DO UPDATE SET lsn = excluded.lsn, xid = excluded.xid, applied_at = excluded.applied_at
)sql";
// Schema-qualified under an empty search_path, without modifier (the column's own checks the value).
constexpr std::string_view kTypeNamesSql = R"sql(
SELECT pg_catalog.format_type(u.t, NULL) FROM pg_catalog.unnest($1::pg_catalog.oid[]) WITH ORDINALITY AS u(t, n) ORDER BY u.n
)sql";
constexpr std::string_view kPublishedTablesSql = R"sql(
SELECT pg_catalog.quote_ident(schemaname) || '.' || pg_catalog.quote_ident(tablename) AS name
  FROM pg_catalog.pg_publication_tables WHERE pubname = $1 ORDER BY 1
)sql";
// User triggers that fire for an ordinary session (ENABLE ORIGIN or ALWAYS), pgshift's fence aside.
constexpr std::string_view kFiringTriggersSql = R"sql(
SELECT c.oid::regclass::text AS table_name, string_agg(t.tgname, ', ' ORDER BY t.tgname) AS triggers
  FROM pg_catalog.unnest($1::text[]) AS l(name)
  JOIN pg_catalog.pg_class c ON c.oid = pg_catalog.to_regclass(l.name)
  JOIN pg_catalog.pg_trigger t ON t.tgrelid = c.oid
 WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A') AND t.tgname NOT IN ($2, $3)
 GROUP BY 1 ORDER BY 1
)sql";

pg::Connection open_publisher_sql(const pg::ConnInfo& publisher) {
  pg::ConnectOptions options = pg::default_connect_options();
  options.role = "target";
  options.application_name = "pgshift apply-back catalog";
  pg::Connection conn = pg::Connection::open(publisher, options);
  conn.exec("SELECT pg_catalog.set_config('search_path', '', false)");
  return conn;
}

}  // namespace

std::string firing_user_triggers(pg::Connection& subscriber, const std::vector<std::string>& tables) {
  pg::Result firing = subscriber.exec(kFiringTriggersSql, {access::text_array_literal(tables), fence::kRowTrigger,
                                                          fence::kTruncateTrigger});
  std::string list;
  for (int i = 0; i < firing.rows(); ++i) {
    list += fmt::format("{}{} ({})", i ? "; " : "", firing.view(i, 0), firing.view(i, 1));
  }
  return list;
}

namespace {

// session_replication_role = replica when the role may (superuser); otherwise the list of
// triggers that would fire again decides (see apply.hpp).
std::string choose_trigger_mode(pg::Connection& subscriber, pg::Connection& publisher, const ApplyOptions& options) {
  try {
    subscriber.exec("SET session_replication_role = replica");
    return "replica";
  } catch (const pg::SqlError& e) {
    if (e.sqlstate() != "42501") throw;
  }
  std::vector<std::string> tables;
  pg::Result published = publisher.exec(kPublishedTablesSql, {options.publication});
  for (int i = 0; i < published.rows(); ++i) tables.emplace_back(published.view(i, 0));
  std::string list = firing_user_triggers(subscriber, tables);
  if (list.empty()) return "origin";
  if (options.allow_triggers) {
    spdlog::warn("{}: user triggers fire again for every applied change (--allow-triggers): {}", subscriber.endpoint(),
                 list);
    return "origin";
  }
  throw ProblemsFound(fmt::format(
      "{}: the apply role may not SET session_replication_role (superuser only), so these user triggers would fire a "
      "second time for each replicated change: {}; disable them for the rollback window (ALTER TABLE ... DISABLE "
      "TRIGGER name, as the table owner), apply as a superuser, or pass --allow-triggers",
      subscriber.endpoint(), list));
}

class Applier {
 public:
  Applier(const pg::ConnInfo& publisher, pg::Connection& subscriber, const ApplyOptions& options,
          const std::function<void(const ApplyProgress&)>& on_commit)
      : publisher_(open_publisher_sql(publisher)),
        subscriber_(subscriber),
        options_(options),
        on_commit_(on_commit),
        pipeline_(subscriber),
        stream_(pg::ReplicationConnection::open(publisher, "target", "pgshift apply-back")) {}

  ApplyProgress run() {
    prepare_subscriber();
    progress_.trigger_mode = choose_trigger_mode(subscriber_, publisher_, options_);
    progress_.start_lsn = stored_apply_lsn(subscriber_, options_.slot);
    progress_.applied_lsn = progress_.start_lsn;
    start_stream();
    if (options_.on_streaming) options_.on_streaming();
    spdlog::info("apply-back: streaming slot {} (publication {}) from {}, triggers: {}", options_.slot,
                 options_.publication, progress_.start_lsn.is_zero() ? "its confirmed position" : progress_.start_lsn.to_string(),
                 progress_.trigger_mode == "replica" ? "off (session_replication_role = replica)" : "as on the source");
    while (true) {
      if (!in_transaction_ && options_.stop_requested && options_.stop_requested()) break;
      std::optional<pg::StreamMessage> m = receive();
      if (m) handle(*m);
      send_status_if_due(false);
    }
    progress_.stopped = true;
    send_status_if_due(true);
    return progress_;
  }

 private:
  void prepare_subscriber() {
    // COMMIT returns once the source has flushed it, so what we confirm to the slot is durable.
    subscriber_.exec("SET synchronous_commit = on");
    if (subscriber_.exec(kProgressTableExistsSql).scalar() != "t") {
      subscriber_.exec("CREATE SCHEMA IF NOT EXISTS pgshift");
      subscriber_.exec(kCreateProgressSql);
    }
  }

  // START_REPLICATION, waiting a while when the slot is still held by a session that is going
  // away (a killed apply's walsender notices its client is gone within moments).
  void start_stream() {
    auto deadline = Clock::now() + util::Millis(30'000);
    while (true) {
      try {
        stream_.start_logical_replication(
            options_.slot, progress_.start_lsn,
            {{"proto_version", "1"}, {"publication_names", pg::quote_ident(options_.publication)}});
        return;
      } catch (const pg::SqlError& e) {
        if (e.sqlstate() != "55006" || Clock::now() >= deadline) throw;
        spdlog::info("apply-back: {}; waiting for it to be released", e.server_message());
      }
      std::this_thread::sleep_for(util::Millis(250));
    }
  }

  // The next message; a stream that ends (its walsender terminated: how rollback and finalize stop
  // an apply running anywhere, or the target went away) stops the apply here, never retried: the
  // source transaction in flight is rolled back (the pipeline's destructor), the stored LSN stays
  // at the last applied transaction, and a restart resumes exactly there.
  std::optional<pg::StreamMessage> receive() {
    try {
      return stream_.receive(util::Millis(500));
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("apply-back: the replication stream of slot {} ended ({}); applied up to {} on the "
                                     "source{}: a restart resumes there",
                                     options_.slot, e.what(), progress_.applied_lsn.to_string(),
                                     in_transaction_ ? fmt::format(", transaction {} not applied", begin_.xid) : ""));
    }
  }

  void handle(const pg::StreamMessage& m) {
    progress_.server_wal_end = std::max(progress_.server_wal_end, m.wal_end);
    if (m.kind == pg::StreamMessage::Kind::keepalive) {
      // Between transactions everything the server decoded before wal_end has been received and
      // applied (or was not for us), so the slot may move there: the native apply does the same.
      if (!in_transaction_) confirmable_ = std::max(confirmable_, m.wal_end);
      if (m.reply_requested) send_status_if_due(true);
      return;
    }
    pgoutput::Decoded message = pgoutput::decode(m.payload);
    std::visit([this](auto& msg) { on(msg); }, message);
  }

  void on(const pgoutput::Begin& b) {
    begin_ = b;
    in_transaction_ = true;
    open_on_subscriber_ = false;
    pending_.clear();
    // Applied before: the stored LSN is the end of a transaction committed at or after this one.
    skipping_ = !progress_.start_lsn.is_zero() && b.final_lsn < progress_.start_lsn;
  }

  void on(const pgoutput::Commit& c) {
    if (open_on_subscriber_) {
      ApplyStatement save{std::string(kSaveProgressSql), {options_.slot, c.end_lsn, static_cast<int64_t>(begin_.xid)}, {}};
      try {
        pipeline_.commit(save);
      } catch (const detail::PipelineFailure& f) {
        conflict(f);
      }
      open_on_subscriber_ = false;
      pending_.clear();
      progress_.applied_lsn = c.end_lsn;
      ++progress_.transactions;
    } else if (skipping_) {
      ++progress_.skipped;
    }
    open_on_subscriber_ = false;
    in_transaction_ = false;
    skipping_ = false;
    confirmable_ = std::max(confirmable_, c.end_lsn);
    if (on_commit_) on_commit_(progress_);
  }

  void on(const pgoutput::Relation& r) {
    ApplyTable table;
    table.relation = r;
    std::vector<std::string> oids;
    for (const auto& c : r.columns) oids.push_back(std::to_string(c.type_oid));
    pg::Result names = publisher_.exec(kTypeNamesSql, {access::text_array_literal(oids)});
    for (int i = 0; i < names.rows(); ++i) table.type_names.emplace_back(names.view(i, 0));
    if (table.type_names.size() != r.columns.size()) {
      throw RuntimeError(fmt::format("{}: cannot read the column types of {}", publisher_.endpoint(), table.display()));
    }
    tables_[r.id] = std::move(table);
  }

  void on(const pgoutput::Type&) {}    // types are named through format_type on the publisher
  void on(const pgoutput::Origin&) {}  // changes that came from elsewhere are applied like any other
  void on(const pgoutput::Message&) {}

  void on(const pgoutput::Insert& i) {
    // A followed schema change (ddl.hpp) arrives as a row of pgshift.ddl_log, applied by its
    // trigger only under session_replication_role = replica: without it, the insert runs the
    // entry itself, in the same statement (and transaction) as the row.
    if (progress_.trigger_mode != "replica" && !skipping_ && is_ddl_log(table(i.relation))) {
      apply(i.relation, "INSERT", ddl_log_insert_statement(table(i.relation), i), false);
      return;
    }
    apply_row(i, "INSERT", insert_statement, false);
  }
  void on(const pgoutput::Update& u) { apply_row(u, "UPDATE", update_statement, true); }
  void on(const pgoutput::Delete& d) { apply_row(d, "DELETE", delete_statement, true); }
  template <typename Change>
  void apply_row(const Change& change, std::string_view what,
                 ApplyStatement (*build)(const ApplyTable&, const Change&), bool must_find_row) {
    if (skipping_) return;
    const ApplyTable& t = table(change.relation);
    apply(change.relation, what, build(t, change), must_find_row);
  }
  void on(const pgoutput::Truncate& tr) {
    if (skipping_) return;
    std::vector<const ApplyTable*> list;
    for (uint32_t id : tr.relations) list.push_back(&table(id));
    if (list.empty()) return;
    apply(tr.relations.front(), "TRUNCATE", truncate_statement(list, tr), false);
  }

  const ApplyTable& table(uint32_t id) {
    auto it = tables_.find(id);
    if (it == tables_.end()) {
      throw RuntimeError(fmt::format("apply-back: transaction {} changes relation {} before its relation message",
                                     begin_.xid, id));
    }
    return it->second;
  }

  // Queues the statement in the transaction's pipeline; every kBatch statements checks them.
  void apply(uint32_t relation, std::string_view what, ApplyStatement s, bool must_find_row) {
    if (!in_transaction_) throw RuntimeError(fmt::format("apply-back: {} outside a transaction", what));
    if (!open_on_subscriber_) {
      pipeline_.begin();
      open_on_subscriber_ = true;
    }
    pipeline_.add(s, pending_.size(), must_find_row);
    pending_.push_back({relation, what, std::move(s.key)});
    ++progress_.changes;
    if (pipeline_.queued() >= detail::ApplyPipeline::kBatch) {
      try {
        pipeline_.check();
      } catch (const detail::PipelineFailure& f) {
        conflict(f);
      }
      pending_.clear();
    }
  }

  // Rolls the transaction back and stops with what failed: "apply-back stopped at transaction 771
  // (commit 0/1A2B3C8): UPDATE of public.items key (id)=(5) on source ... found no row; ...".
  [[noreturn]] void conflict(const detail::PipelineFailure& f) {
    pipeline_.abort();
    open_on_subscriber_ = false;
    std::string head = fmt::format("apply-back stopped at transaction {} (commit {})", begin_.xid,
                                   begin_.final_lsn.to_string());
    if (f.tag < pending_.size()) {
      const Pending& p = pending_[f.tag];
      auto t = tables_.find(p.relation);
      head += fmt::format(": {} of {}{}", p.what, t == tables_.end() ? std::to_string(p.relation) : t->second.display(),
                          p.key.empty() ? "" : " key " + p.key);
    } else {
      head += ": its commit";
    }
    if (!f.error) {
      throw ApplyConflict(fmt::format("{} on {} found no row; nothing was skipped: restore the row on the source (or "
                                      "remove the conflict), then start the apply again",
                                      head, subscriber_.endpoint()));
    }
    const pg::SqlError& e = *f.error;
    throw ApplyConflict(fmt::format("{} on {} failed: {}{} (SQLSTATE {}); nothing was skipped: resolve it on the source, "
                                    "then start the apply again",
                                    head, subscriber_.endpoint(), e.server_message(),
                                    e.detail().empty() ? "" : " (" + e.detail() + ")", e.sqlstate()));
  }

  void send_status_if_due(bool now) {
    auto since = Clock::now() - last_status_;
    bool advanced = confirmable_ > progress_.confirmed_lsn;
    if (!now && !(advanced && since >= util::Millis(200)) && since < options_.status_interval) return;
    stream_.send_status(confirmable_, confirmable_, confirmable_);
    progress_.confirmed_lsn = confirmable_;
    last_status_ = Clock::now();
  }

  pg::Connection publisher_;
  pg::Connection& subscriber_;
  const ApplyOptions& options_;
  const std::function<void(const ApplyProgress&)>& on_commit_;
  detail::ApplyPipeline pipeline_;
  // The statements of the transaction queued since the last check, for messages (tag = index).
  struct Pending {
    uint32_t relation = 0;
    std::string_view what;
    std::string key;
  };
  std::vector<Pending> pending_;
  pg::ReplicationConnection stream_;
  std::unordered_map<uint32_t, ApplyTable> tables_;
  ApplyProgress progress_;
  pgoutput::Begin begin_;
  bool in_transaction_ = false;
  bool open_on_subscriber_ = false;
  bool skipping_ = false;
  pg::Lsn confirmable_;
  Clock::time_point last_status_ = Clock::now();
};

}  // namespace

pg::Lsn stored_apply_lsn(pg::Connection& subscriber, const std::string& slot) {
  if (subscriber.exec(kProgressTableExistsSql).scalar() != "t") return pg::Lsn();
  pg::Result r = subscriber.exec(kStoredLsnSql, {slot});
  if (r.empty()) return pg::Lsn();
  return pg::Lsn::parse_or_throw(r.view(0, 0), "pgshift.apply_progress.lsn");
}

bool forget_apply_progress(pg::Connection& subscriber, const std::string& slot) {
  if (subscriber.exec(kProgressTableExistsSql).scalar() != "t") return false;
  subscriber.exec("DELETE FROM pgshift.apply_progress WHERE slot = $1", {slot});
  if (subscriber.exec("SELECT count(*) FROM pgshift.apply_progress").scalar() == "0") {
    subscriber.exec("DROP TABLE pgshift.apply_progress");
  }
  return true;
}

ApplyProgress run_apply(const pg::ConnInfo& publisher, pg::Connection& subscriber, const ApplyOptions& options,
                        const std::function<void(const ApplyProgress&)>& on_commit) {
  Applier applier(publisher, subscriber, options, on_commit);
  return applier.run();
}

}  // namespace pgshift::logical
