// verify::run: reads both catalogs, plans each table, and works through a queue of tasks with a
// pool of connection pairs. A table's first task plans it (and hashes it when it is one unit:
// key-less, key-scan, or a counts-mode table whose counts agree); key-range tables then get one
// task per chunk, queued at the front so tables finish one after another.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <condition_variable>
#include <deque>
#include <future>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "catalog/catalog.hpp"
#include "pg/error.hpp"
#include "stats/replication_progress.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"
#include "verify/chunk_plan.hpp"
#include "verify/column_excludes.hpp"
#include "verify/reads.hpp"
#include "verify/select.hpp"
#include "verify/session.hpp"
#include "verify/table_plan.hpp"
#include "verify/verify.hpp"

namespace pgshift::verify {
namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Why a table could not be verified. A read refused under row_security = off says what to do.
std::string failure_reason(const std::exception& e) {
  const auto* sql = dynamic_cast<const pg::SqlError*>(&e);
  if (sql && sql->sqlstate() == "42501" && sql->server_message().find("row-level security") != std::string::npos) {
    return fmt::format("{}: {}: verify reads every row (row_security = off), never what a policy lets through; run "
                       "it as a role with BYPASSRLS, a superuser, or the table's owner (without FORCE ROW LEVEL "
                       "SECURITY)",
                       sql->endpoint(), sql->server_message());
  }
  return e.what();
}

struct TableRun {
  TablePlan plan;
  TableReport report;
  int64_t estimate = 0;            // source rows expected, for progress
  int64_t size_bytes = 0;          // for scheduling: big tables first
  std::vector<Key> bounds;         // chunk bounds, sorted
  std::vector<Range> chunks;       // empty until planned
  size_t chunks_done = 0;
  std::vector<std::pair<size_t, Findings>> findings;  // by chunk index
  bool failed = false;
  bool finished = false;
  Clock::time_point started;
};

struct Task {
  size_t table = 0;
  std::optional<size_t> chunk;  // none: plan the table
};

class Runner {
 public:
  // rows_estimate: source rows expected over all tables, for the ETA until they are planned.
  Runner(const Options& options, LagFence fence, std::vector<TableRun>& tables, int64_t rows_estimate)
      : options_(options), fence_(std::move(fence)), tables_(tables), started_(Clock::now()),
        rows_estimate_(rows_estimate) {
    for (size_t i = 0; i < tables_.size(); ++i) queue_.push_back({i, std::nullopt});
    std::stable_sort(queue_.begin(), queue_.end(), [&](const Task& a, const Task& b) {
      return tables_[a.table].size_bytes > tables_[b.table].size_bytes;
    });
  }

  void run(std::vector<Pair>& pairs) {
    std::vector<std::thread> threads;
    for (auto& pair : pairs) threads.emplace_back([this, &pair] { work(pair); });
    for (auto& t : threads) t.join();
    if (fatal_) std::rethrow_exception(fatal_);
  }

 private:
  void work(Pair& pair) {
    while (true) {
      Task task;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return fatal_ || !queue_.empty() || active_ == 0; });
        if (fatal_ || queue_.empty()) {
          cv_.notify_all();
          return;
        }
        task = queue_.front();
        queue_.pop_front();
        ++active_;
      }
      execute(pair, task);
      std::lock_guard lock(mu_);
      --active_;
      cv_.notify_all();
    }
  }

  void execute(Pair& pair, const Task& task) {
    TableRun& t = tables_[task.table];
    bool failed;
    {
      std::lock_guard lock(mu_);
      failed = t.failed;
    }
    try {
      if (failed) {
        skip_chunk(t);
      } else if (task.chunk) {
        hash_chunk(pair, t, *task.chunk);
      } else {
        plan(pair, t);
      }
    } catch (const std::exception& e) {
      spdlog::debug("{}: {}", t.plan.table.display(), e.what());
      {
        std::lock_guard lock(mu_);
        t.failed = true;
        t.report.reason = util::redact(failure_reason(e));
        if (!task.chunk || t.chunks.empty()) {
          finish(t);
        } else {
          skip_chunk_locked(t);
        }
      }
      reconnect_if_broken(pair);
    }
  }

  void reconnect_if_broken(Pair& pair) {
    if (pair.is_ok()) return;
    try {
      pair = open_pair(options_.source, options_.target);
    } catch (...) {
      std::lock_guard lock(mu_);
      if (!fatal_) fatal_ = std::current_exception();
      cv_.notify_all();
    }
  }

  Agg hash_one(Session& c, const SideSql& sql, const Range& r) {
    return read_buckets(c, hash_query(sql, r, {}), 1).at(0);
  }

  std::pair<Agg, Agg> hash_both(Pair& pair, const TablePlan& p, const Range& r) {
    return pair.both([&](Session& c, Side side) {
      return hash_one(c, side == Side::source ? p.source : p.target, r);
    });
  }

  void plan(Pair& pair, TableRun& t) {
    {
      std::lock_guard lock(mu_);
      t.started = Clock::now();
    }
    const TablePlan& p = t.plan;
    Resolver resolver(pair, p, fence_, options_.limits, options_.mode);
    // One unit: key-less tables, and in counts mode a first count of the whole table.
    if (p.strategy == Strategy::whole || options_.mode == Mode::counts) {
      auto [s, g] = hash_both(pair, p, {});
      if (s == g || p.strategy == Strategy::whole) {
        Findings f = s == g ? Findings{} : resolver.whole(s, g);
        std::lock_guard lock(mu_);
        t.chunks = {Range{}};
        record_chunk(t, 0, s, g, std::move(f));
        return;
      }
      spdlog::debug("{}: counts differ ({} vs {}), looking for the keys", p.table.display(), s.rows, g.rows);
    }
    SizeEstimate est = estimate_size(pair.source.conn(), p.source.relation);
    int64_t chunks = chunk_count(est.rows, options_.chunk_rows);
    std::vector<Key> bounds;
    if (chunks > 1) {
      double pct = sample_percent(est.rows, est.pages, chunks);
      bounds = read_bounds(pair.source, sample_query(p.source, pct, chunks), p.key_columns.size());
    }
    {
      std::lock_guard lock(mu_);
      rows_estimate_ += est.rows - t.estimate;
      t.estimate = est.rows;
      t.bounds = bounds;
      t.chunks = split_range({}, bounds);
      if (p.strategy == Strategy::key_ranges) {
        for (size_t i = t.chunks.size(); i-- > 0;) queue_.push_front({static_cast<size_t>(&t - tables_.data()), i});
        cv_.notify_all();
        notify_progress();
        return;
      }
    }
    scan(pair, t, resolver);
  }

  // key-scan: one grouped scan per side gives every chunk's aggregates.
  void scan(Pair& pair, TableRun& t, Resolver& resolver) {
    const TablePlan& p = t.plan;
    size_t n = t.bounds.size() + 1;
    auto [a, b] = pair.both([&](Session& c, Side side) {
      return read_buckets(c, hash_query(side == Side::source ? p.source : p.target, {}, t.bounds), n);
    });
    std::vector<int> differing;
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) differing.push_back(static_cast<int>(i));
    }
    Findings f = differing.empty() ? Findings{} : resolver.buckets(t.bounds, differing, a, b);
    std::lock_guard lock(mu_);
    if (!differing.empty()) t.findings.emplace_back(0, std::move(f));
    for (size_t i = 0; i < n; ++i) record_chunk(t, i, a[i], b[i], Findings{});
  }

  void hash_chunk(Pair& pair, TableRun& t, size_t i) {
    const Range& r = t.chunks[i];
    auto [s, g] = hash_both(pair, t.plan, r);
    Findings f;
    if (s != g) {
      spdlog::debug("{}: {} differs (source {} rows, target {})", t.plan.table.display(),
                    describe(r, t.plan.key_columns), s.rows, g.rows);
      Resolver resolver(pair, t.plan, fence_, options_.limits, options_.mode);
      f = resolver.range(r, s, g);
    }
    std::lock_guard lock(mu_);
    record_chunk(t, i, s, g, std::move(f));
  }

  // Under mu_. Adds one chunk's result; the last chunk finishes the table.
  void record_chunk(TableRun& t, size_t i, const Agg& s, const Agg& g, Findings f) {
    TableReport& r = t.report;
    r.source_rows += s.rows;
    r.target_rows += g.rows;
    r.min_chunk_rows = t.chunks_done == 0 ? s.rows : std::min(r.min_chunk_rows, s.rows);
    r.max_chunk_rows = std::max(r.max_chunk_rows, s.rows);
    if (s != g) ++r.mismatched_chunks;
    rows_done_ += s.rows;
    ++chunks_done_;
    if (s != g || f.rechecks) t.findings.emplace_back(i, std::move(f));
    if (++t.chunks_done == t.chunks.size()) finish(t);
    notify_progress();
  }

  void skip_chunk(TableRun& t) {
    std::lock_guard lock(mu_);
    skip_chunk_locked(t);
  }

  void skip_chunk_locked(TableRun& t) {
    ++chunks_done_;
    if (++t.chunks_done == t.chunks.size()) finish(t);
  }

  // Under mu_.
  void finish(TableRun& t) {
    if (t.finished) return;
    t.finished = true;
    TableReport& r = t.report;
    r.chunks = t.chunks.size();
    r.seconds = since(t.started);
    std::sort(t.findings.begin(), t.findings.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    bool fenced = false;
    for (auto& [i, f] : t.findings) {
      fenced = fenced || f.fenced;
      r.rechecks += f.rechecks;
      r.cleared_by_recheck += f.cleared_by_recheck;
      r.differences_total += f.total;
      r.differences_total_exact = r.differences_total_exact && f.exact;
      for (auto& d : f.differences) {
        if (r.differences.size() < options_.limits.max_keys) r.differences.push_back(std::move(d));
      }
      for (auto& n : f.notes) {
        if (std::find(r.notes.begin(), r.notes.end(), n) == r.notes.end()) r.notes.push_back(std::move(n));
      }
    }
    // Counts that differ are cleared only by the lag fence (rows that were on their way). Without
    // it, rows the key search could not name (a NULL key on the target) still differ.
    int64_t gap = std::abs(r.source_rows - r.target_rows);
    if (!t.failed && !fenced && r.differences_total < gap) {
      r.differences_total = gap;
      r.differences_total_exact = false;
      r.notes.push_back(fmt::format("the row counts differ by {} and no lag fence explains it; not every row behind "
                                    "the difference could be named by its key",
                                    gap));
    }
    if (t.failed) {
      r.status = TableStatus::error;
    } else if (r.differences_total > 0 || !r.missing_columns.empty()) {
      r.status = TableStatus::mismatch;
    } else {
      r.status = TableStatus::match;
    }
    ++tables_done_;
    spdlog::debug("{}: {} ({} rows, {} chunks, {:.2f}s)", r.table.display(), to_string(r.status), r.source_rows,
                  r.chunks, r.seconds);
    notify_progress();
  }

  // Under mu_.
  void notify_progress() {
    if (!options_.progress) return;
    Progress p;
    p.tables_total = tables_.size();
    p.tables_done = tables_done_;
    for (const auto& t : tables_) p.chunks_total += t.chunks.empty() ? 1 : t.chunks.size();
    p.chunks_done = chunks_done_;
    p.rows_done = rows_done_;
    p.rows_estimate = std::max(rows_estimate_, rows_done_);
    p.elapsed_seconds = since(started_);
    options_.progress(p);
  }

 private:
  const Options& options_;
  LagFence fence_;
  std::vector<TableRun>& tables_;
  Clock::time_point started_;
  int64_t rows_estimate_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  int active_ = 0;
  std::exception_ptr fatal_;
  size_t tables_done_ = 0;
  size_t chunks_done_ = 0;
  int64_t rows_done_ = 0;
};

// Source size of a table in bytes and rows, summing the partitions of a partitioned root.
std::pair<int64_t, int64_t> source_size(const catalog::Snapshot& s, const catalog::Table& t) {
  int64_t bytes = t.size_bytes, rows = std::max<int64_t>(t.row_estimate, 0);
  for (const auto& part : s.tables) {
    if (part.partition_root && *part.partition_root == t.ref) {
      bytes += part.size_bytes;
      rows += std::max<int64_t>(part.row_estimate, 0);
    }
  }
  return {bytes, rows};
}

LagFence make_fence(pg::Connection& source, const Options& o, std::string& note) {
  if (o.slot.empty()) {
    note = "no subscription slot given: differences are final";
    return {};
  }
  if (!stats::slot_progress(source, o.slot).exists) {
    note = fmt::format("no replication slot {} on the source: differences are final", o.slot);
    return {};
  }
  return LagFence(o.slot, o.fence_timeout);
}

void check_options(const Options& o) {
  if (o.jobs < 1) throw UsageError("--jobs: must be at least 1");
  if (o.chunk_rows < 1) throw UsageError("--chunk-rows: must be at least 1");
}

}  // namespace

Report run(const Options& options) {
  check_options(options);
  auto started = Clock::now();
  Report report;
  report.mode = options.mode;
  report.jobs = options.jobs;
  report.chunk_rows = options.chunk_rows;

  report.source_endpoint = options.source.redacted();
  report.direction = options.direction;
  report.target_endpoint = options.target.redacted();
  Selection sel;
  LagFence fence;
  std::vector<TableRun> tables;
  int64_t rows_estimate = 0;
  {
    // The catalog connections close before the pool opens: verify holds `jobs` + 1 connections
    // to a side at the most.
    // Both sides at once: connecting (SCRAM) and reading a catalog cost tens of milliseconds
    // each, and cutover's final gate runs while clients wait.
    auto target_side = std::async(std::launch::async, [&] {
      pg::Connection conn = open_session(options.target, "target");
      catalog::Snapshot snap = catalog::read_snapshot(conn, catalog::Detail::tables);
      return std::make_pair(std::move(conn), std::move(snap));
    });
    pg::Connection source = open_session(options.source, "source");
    catalog::Snapshot src = catalog::read_snapshot(source, catalog::Detail::tables);
    auto [target, tgt] = target_side.get();
    sel = choose_tables(src, tgt, options.excludes, options.tables, options.allow_source_only);
    fence = make_fence(source, options, report.fence_note);
    report.fence_slot = fence.slot();

    std::vector<uint32_t> src_oids, tgt_oids;
    for (const auto& ref : sel.compare) {
      src_oids.push_back(src.table(ref)->oid);
      tgt_oids.push_back(tgt.table(ref)->oid);
    }
    auto ling_src = linguistic_columns(source, src_oids);
    auto ling_tgt = linguistic_columns(target, tgt_oids);
    EnumLabels src_enums = enum_labels(src), tgt_enums = enum_labels(tgt);
    ColumnExcludes column_excludes = resolve_column_excludes(options.exclude_columns, src);
    for (const auto& ref : sel.compare) {
      const catalog::Table& s = *src.table(ref);
      const catalog::Table& t = *tgt.table(ref);
      TableRun run;
      const std::set<std::string>& left_out = column_excludes[ref];
      run.plan = plan_table(s, t, ling_src[s.oid], ling_tgt[t.oid], options.mode, src_enums, tgt_enums, left_out);
      for (const auto& k : run.plan.key_columns) {
        if (left_out.count(k)) {
          throw UsageError(fmt::format("--exclude-column {}.{}: part of the key verify compares by; it cannot be "
                                       "left out",
                                       ref.display(), k));
        }
      }
      run.report.excluded_columns = run.plan.excluded_columns;
      run.report.table = ref;
      run.report.strategy = to_string(run.plan.strategy);
      run.report.key_columns = run.plan.key_columns;
      run.report.missing_columns = run.plan.missing_on_target;
      run.report.notes = run.plan.notes;
      std::tie(run.size_bytes, run.estimate) = source_size(src, s);
      rows_estimate += run.estimate;
      tables.push_back(std::move(run));
    }
  }

  std::vector<Pair> pairs;
  size_t n_pairs = tables.empty() ? 0 : static_cast<size_t>(options.jobs);
  std::vector<std::future<Pair>> opening;
  for (size_t i = 0; i < n_pairs; ++i) {
    opening.push_back(std::async(std::launch::async, [&] { return open_pair(options.source, options.target); }));
  }
  for (auto& f : opening) pairs.push_back(f.get());

  Runner runner(options, std::move(fence), tables, rows_estimate);
  runner.run(pairs);

  for (auto& t : tables) report.tables.push_back(std::move(t.report));
  for (auto& t : sel.skipped) report.tables.push_back(std::move(t));
  std::sort(report.tables.begin(), report.tables.end(),
            [](const TableReport& a, const TableReport& b) { return a.table < b.table; });
  report.seconds = since(started);
  return report;
}

}  // namespace pgshift::verify
