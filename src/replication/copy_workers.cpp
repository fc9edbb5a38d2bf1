#include "replication/copy_workers.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>

#include "pg/copy_stream.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "state/journal.hpp"
#include "util/work_queue.hpp"

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

bool source_lost(const pg::Connection& source, const pg::SqlError& e) {
  return !source.is_ok() || (e.sqlstate().rfind("08", 0) == 0 && e.endpoint() == source.endpoint());
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

void run_copy_workers(const CopyPlan& plan, const CopyWorkerOptions& options, CopyMeter& meter,
                      const std::atomic<bool>& cancel) {
  std::vector<const CopyUnit*> todo;
  for (const auto& u : plan.units) {
    if (options.done.count(u.key)) meter.unit_skipped(u);
    else todo.push_back(&u);
  }
  const int jobs = std::max(1, options.jobs);
  struct Worker {
    std::optional<pg::Connection> source, target;
    std::optional<state::Journal> journal;
  };
  std::vector<Worker> workers(static_cast<size_t>(jobs));
  std::atomic<bool> failed{false};  // one worker's error stops the others at their next MiB
  std::exception_ptr real_error;    // that error, not the others' CopyCancelled
  std::mutex error_mutex;
  auto stop_now = [&] { return cancel.load() || failed.load(); };
  try {
  util::run_work_queue(jobs, todo.size(), [&](int w, size_t i) {
    const CopyUnit& unit = *todo[i];
    const CopyRelation& rel = plan.relations[unit.relation];
    Worker& worker = workers[static_cast<size_t>(w)];
    if (stop_now()) throw CopyCancelled("copy cancelled");
    for (int attempt = 0;; ++attempt) {
      auto started = std::chrono::steady_clock::now();
      int64_t moved = 0;
      try {
        if (!worker.source || !worker.source->is_ok()) worker.source = open_source(options);
        if (!worker.target || !worker.target->is_ok()) {
          worker.journal.reset();
          worker.target = open_target(options);
          worker.journal.emplace(*worker.target, "sync start");
        }
        worker.target->exec("BEGIN");
        pg::CopyTotals totals =
            pg::stream_copy(*worker.source, copy_out_sql(rel, unit), *worker.target, copy_in_sql(rel), [&](int64_t n) {
              if (stop_now()) throw CopyCancelled("copy cancelled");
              moved += n;
              meter.add_bytes(unit.relation, n);
            });
        int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
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
        bool retry = worker.source && source_lost(*worker.source, e) && attempt < kSourceRetries;
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
        RuntimeError error(fmt::format("copying {} into {}: {}", describe_unit(rel, unit), rel.target.display(),
                                       e.what()));
        {
          std::lock_guard<std::mutex> lock(error_mutex);
          if (!real_error) real_error = std::make_exception_ptr(error);
        }
        failed = true;
        throw error;
      }
    }
  });
  } catch (...) {
    if (real_error) std::rethrow_exception(real_error);
    throw;
  }
}

}  // namespace pgshift::replication
