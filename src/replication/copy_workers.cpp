#include "replication/copy_workers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>

#include "pg/copy_stream.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "pg/transaction.hpp"
#include "state/journal.hpp"
#include "util/duration.hpp"

namespace pgshift::replication {
namespace {

constexpr int kSourceRetries = 3;

std::string column_list(const CopyRelation& r) {
  std::vector<std::string> quoted;
  for (const auto& c : r.columns) quoted.push_back(pg::quote_ident(c));
  return fmt::format("{}", fmt::join(quoted, ", "));
}

std::string format_clause(const CopyRelation& r) { return r.binary ? " (FORMAT binary)" : ""; }

pg::ConnectOptions options_for(const std::string& role, const std::string& application) {
  pg::ConnectOptions o = pg::default_connect_options();
  o.role = role;
  o.application_name = application;
  return o;
}

// A source session on the copy's snapshot.
pg::Connection open_source(const CopyWorkerOptions& options) {
  pg::Connection conn = pg::Connection::open(options.source, options_for("source", "pgshift copy"));
  conn.exec("SET statement_timeout = 0");
  conn.exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  conn.exec("SET TRANSACTION SNAPSHOT " + pg::quote_literal(options.snapshot));
  return conn;
}

pg::Connection open_target(const CopyWorkerOptions& options) {
  pg::Connection conn = pg::Connection::open(options.target, options_for("target", "pgshift copy"));
  conn.exec("SET statement_timeout = 0");
  conn.exec("SET session_replication_role = replica");
  conn.exec("SET synchronous_commit = off");
  return conn;
}

// The error came from a source session that is gone (terminated, network): worth another one.
// Also when it broke while the session was being opened (`source` may be empty then).
bool source_lost(const std::optional<pg::Connection>& source, const pg::SqlError& e) {
  bool from_source = e.endpoint().rfind("source", 0) == 0;
  bool connection_error = e.sqlstate().rfind("08", 0) == 0 || e.sqlstate() == "57P01" || e.sqlstate().empty();
  return from_source && (connection_error || (source && !source->is_ok()));
}

}  // namespace

std::string copy_out_sql(const CopyRelation& r, const CopyUnit& u) {
  if (u.whole) return fmt::format("COPY {} ({}) TO STDOUT{}", r.leaf.quoted(), column_list(r), format_clause(r));
  std::string where = fmt::format("ctid >= '({},0)'::tid", u.first_block);
  if (u.end_block) where += fmt::format(" AND ctid < '({},0)'::tid", *u.end_block);
  return fmt::format("COPY (SELECT {} FROM ONLY {} WHERE {}) TO STDOUT{}", column_list(r), r.leaf.quoted(), where,
                     format_clause(r));
}

std::string copy_in_sql(const CopyRelation& r) {
  return fmt::format("COPY {} ({}) FROM STDIN{}", r.target.quoted(), column_list(r), format_clause(r));
}

std::string describe_unit(const CopyRelation& r, const CopyUnit& u) {
  if (u.whole) return r.leaf.display();
  return u.end_block ? fmt::format("{} (blocks {}–{})", r.leaf.display(), u.first_block, *u.end_block - 1)
                     : fmt::format("{} (blocks {}–end)", r.leaf.display(), u.first_block);
}

CopyMeter::CopyMeter(const CopyPlan& plan) {
  for (const auto& r : plan.relations) view_.relations.push_back({r.leaf.display(), r.bytes, 0, 0, 0, 0});
  for (const auto& u : plan.units) view_.relations[u.relation].units_total++;
  view_.bytes_total = plan.total_bytes;
  view_.units_total = static_cast<int>(plan.units.size());
}

void CopyMeter::add_bytes(size_t relation, int64_t bytes) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.relations[relation].bytes_done += bytes;
  view_.bytes_done += bytes;
}

void CopyMeter::unit_done(const CopyUnit& unit, int64_t rows) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.relations[unit.relation].units_done++;
  view_.relations[unit.relation].rows += rows;
  view_.rows += rows;
  view_.units_done++;
  view_.last_unit_ms = util::ms_since(started_);
}

void CopyMeter::unit_skipped(const CopyUnit& unit) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto& r = view_.relations[unit.relation];
  r.units_done++;
  r.bytes_done += unit.estimated_bytes;
  view_.bytes_done += unit.estimated_bytes;
  view_.units_done++;
  view_.units_reused++;
}

CopyMeter::View CopyMeter::view() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return view_;
}

void CopyMeter::object_rebuilt(int64_t ms) {
  std::lock_guard<std::mutex> lock(mutex_);
  view_.objects_rebuilt++;
  view_.build_ms += ms;
}

namespace {

// The shared work list: index builds of fully copied tables first, then copy units.
class WorkQueue {
 public:
  struct Task {
    const CopyUnit* unit = nullptr;       // copy this unit, or
    const PendingObject* build = nullptr;  // rebuild this object
  };

  WorkQueue(const CopyPlan& plan, std::vector<const CopyUnit*> todo, const std::vector<PendingObject>& builds)
      : plan_(plan), todo_(std::move(todo)) {
    for (const auto& b : builds) builds_of_[b.object.table.display()].push_back(&b);
    for (const auto* u : todo_) remaining_[plan_.relations[u->relation].target.display()]++;
    // Tables copied entirely by an earlier run: their indexes can be built at once.
    for (auto& [table, list] : builds_of_) {
      if (!remaining_.count(table)) ready_.insert(ready_.end(), list.begin(), list.end());
    }
  }

  // Blocks until there is a task for this kind of worker or nothing is left (nullopt). Copiers
  // take units, builders take the builds of tables already copied (waiting while units run).
  std::optional<Task> next(bool builder) {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      if (stopped_) return std::nullopt;
      if (builder) {
        // Two builds on one partitioned table at once would race for the names PostgreSQL gives
        // the partitions' indexes (both see neither's uncommitted name: "duplicate key value
        // violates unique constraint pg_class_relname_nsp_index"); those wait for each other.
        auto it = std::find_if(ready_.begin(), ready_.end(), [&](const PendingObject* b) {
          return !b->object.partitioned || !partitioned_building_.count(b->object.table.display());
        });
        if (it != ready_.end()) {
          const PendingObject* b = *it;
          ready_.erase(it);
          if (b->object.partitioned) partitioned_building_.insert(b->object.table.display());
          ++running_;
          return Task{nullptr, b};
        }
      }
      if (!builder && next_unit_ < todo_.size()) {
        ++running_;
        ++copying_;
        return Task{todo_[next_unit_++], nullptr};
      }
      if (!builder) return std::nullopt;  // no unit left for a copier
      if (copying_ == 0 && next_unit_ >= todo_.size() && ready_.empty()) return std::nullopt;  // none can appear
      changed_.wait(lock);  // a running unit may complete a table and release its builds
    }
  }

  void finished(const Task& task) {
    std::lock_guard<std::mutex> lock(mutex_);
    --running_;
    if (task.build && task.build->object.partitioned) partitioned_building_.erase(task.build->object.table.display());
    if (task.unit) {
      --copying_;
      std::string table = plan_.relations[task.unit->relation].target.display();
      if (--remaining_[table] == 0) {
        auto it = builds_of_.find(table);
        if (it != builds_of_.end()) ready_.insert(ready_.end(), it->second.begin(), it->second.end());
      }
    }
    changed_.notify_all();
  }

  void stop() {
    std::lock_guard<std::mutex> lock(mutex_);
    stopped_ = true;
    changed_.notify_all();
  }

 private:
  const CopyPlan& plan_;
  std::vector<const CopyUnit*> todo_;
  std::map<std::string, std::vector<const PendingObject*>> builds_of_;
  std::map<std::string, int> remaining_;
  std::deque<const PendingObject*> ready_;
  std::set<std::string> partitioned_building_;  // partitioned tables with a build running
  size_t next_unit_ = 0;
  int running_ = 0;
  int copying_ = 0;
  bool stopped_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
};

}  // namespace

void run_copy_workers(const CopyPlan& plan, const CopyWorkerOptions& options, CopyMeter& meter,
                      const std::atomic<bool>& cancel) {
  std::vector<const CopyUnit*> todo;
  for (const auto& u : plan.units) {
    if (options.done.count(u.key)) meter.unit_skipped(u);
    else todo.push_back(&u);
  }
  WorkQueue queue(plan, todo, options.builds);
  const int jobs = std::max(1, options.jobs);
  struct Worker {
    std::optional<pg::Connection> source, target;
    std::optional<state::Journal> journal;
  };
  // jobs copiers and, beside them, jobs builders (as pgcopydb's --table-jobs and --index-jobs).
  std::vector<Worker> workers(static_cast<size_t>(2 * jobs));
  std::atomic<bool> failed{false};  // one worker's error stops the others at their next MiB
  std::exception_ptr first_error;   // that error, not the others' CopyCancelled
  std::mutex error_mutex;
  auto stop_now = [&] { return cancel.load() || failed.load(); };
  auto fail = [&](std::exception_ptr e, bool real) {
    {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error || (real && !failed)) first_error = e;
    }
    if (real) failed = true;
    queue.stop();
  };

  auto ensure_target = [&](Worker& worker) {
    if (!worker.target || !worker.target->is_ok()) {
      worker.journal.reset();
      worker.target = open_target(options);
      if (!options.maintenance_work_mem.empty()) {
        worker.target->exec("SELECT set_config('maintenance_work_mem', $1, false)", {options.maintenance_work_mem});
      }
      worker.journal.emplace(*worker.target, "sync start");
    }
  };

  auto copy_unit = [&](Worker& worker, const CopyUnit& unit) {
    const CopyRelation& rel = plan.relations[unit.relation];
    for (int attempt = 0;; ++attempt) {
      auto started = std::chrono::steady_clock::now();
      int64_t moved = 0;
      try {
        if (!worker.source || !worker.source->is_ok()) worker.source = open_source(options);
        ensure_target(worker);
        worker.target->exec("BEGIN");
        pg::CopyTotals totals =
            pg::stream_copy(*worker.source, copy_out_sql(rel, unit), *worker.target, copy_in_sql(rel), [&](int64_t n) {
              if (stop_now()) throw CopyCancelled("copy cancelled");
              moved += n;
              meter.add_bytes(unit.relation, n);
            });
        int64_t ms = util::ms_since(started);
        worker.journal->record(options.migration_id, kStepCopyUnit, state::EventStatus::finished,
                               {{"key", unit.key},
                                {"generation", options.generation},
                                {"bytes", totals.bytes},
                                {"rows", totals.rows},
                                {"ms", ms}});
        worker.target->exec("COMMIT");
        // What the progress counted is replaced by what the unit really moved.
        meter.add_bytes(unit.relation, totals.bytes - moved);
        meter.unit_done(unit, totals.rows);
        spdlog::debug("copied {}: {} rows in {} ms", describe_unit(rel, unit), totals.rows, ms);
        return;
      } catch (const CopyCancelled&) {
        worker.source.reset();  // mid-COPY: the connections cannot be reused; closing aborts both
        worker.journal.reset();
        worker.target.reset();
        throw;
      } catch (const pg::SqlError& e) {
        meter.add_bytes(unit.relation, -moved);
        bool retry = source_lost(worker.source, e) && attempt < kSourceRetries;
        worker.source.reset();
        if (worker.target && worker.target->is_ok()) {
          try {
            worker.target->exec("ROLLBACK");
          } catch (const std::exception&) {
            worker.journal.reset();
            worker.target.reset();
          }
        }
        if (retry) {
          spdlog::warn("copying {}: the source connection was lost ({}); retrying the range ({} of {})",
                       describe_unit(rel, unit), pg::one_line(e.server_message()), attempt + 1, kSourceRetries);
          continue;
        }
        throw RuntimeError(fmt::format("copying {} into {}: {}", describe_unit(rel, unit), rel.target.display(),
                                       e.what()));
      }
    }
  };

  auto build = [&](Worker& worker, const PendingObject& b) {
    auto started = std::chrono::steady_clock::now();
    ensure_target(worker);
    try {
      // Built and settled in one transaction (see restore_deferred): exactly once across kills.
      pg::Transaction tx(*worker.target);
      rebuild(*worker.target, b.object);
      settle_pending(*worker.journal, options.migration_id, b, {{"restored", true}, {"during_copy", true}});
      tx.commit();
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("rebuilding {}: {}", b.object.describe(), e.what()));
    }
    meter.object_rebuilt(util::ms_since(started));
  };

  auto loop = [&](int w) {
    Worker& worker = workers[static_cast<size_t>(w)];
    const bool builder = w >= jobs;
    while (std::optional<WorkQueue::Task> task = queue.next(builder)) {
      try {
        if (stop_now()) throw CopyCancelled("copy cancelled");
        if (task->unit) copy_unit(worker, *task->unit);
        else build(worker, *task->build);
        queue.finished(*task);
      } catch (const CopyCancelled&) {
        queue.finished(*task);
        fail(std::current_exception(), false);
        return;
      } catch (...) {
        queue.finished(*task);
        fail(std::current_exception(), true);
        return;
      }
    }
  };
  std::vector<std::thread> threads;
  for (int w = 1; w < 2 * jobs; ++w) threads.emplace_back(loop, w);
  loop(0);
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
  if (cancel) throw CopyCancelled("copy cancelled");
}

}  // namespace pgshift::replication
