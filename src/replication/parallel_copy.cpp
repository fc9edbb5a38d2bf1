#include "replication/parallel_copy.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <thread>

#include "logical/logical.hpp"
#include "pg/quote.hpp"
#include "replication/copy_plan.hpp"
#include "replication/copy_workers.hpp"
#include "replication/deferred_objects.hpp"
#include "replication/snapshot_keeper.hpp"
#include "replication/truncate_target.hpp"
#include "util/duration.hpp"
#include "util/interrupt.hpp"

namespace pgshift::replication {

using nlohmann::json;
using state::EventStatus;
using Clock = std::chrono::steady_clock;

std::string to_string(CopyMode mode) { return mode == CopyMode::parallel ? "parallel" : "native"; }

bool interrupted_copy_waiting(pg::Connection& target) {
  state::Journal journal(target, "sync start");
  std::optional<state::Migration> current = journal.current();
  return current && current->phase == state::Phase::starting && detail::parallel_copy_pending(journal, current->id);
}

CopyMode copy_mode_from_string(const std::string& text) {
  if (text == "parallel") return CopyMode::parallel;
  if (text == "native") return CopyMode::native;
  throw UsageError(fmt::format("--copy: '{}' is not a copy mode (parallel or native)", text));
}

json to_json(const CopySummary& s) {
  return {{"jobs", s.jobs},
          {"relations", s.relations},
          {"units", s.units},
          {"units_reused", s.units_reused},
          {"restarted", s.restarted},
          {"bytes", s.bytes},
          {"rows", s.rows},
          {"consistent_point", s.consistent_point},
          {"indexes", s.indexes},
          {"constraints", s.constraints},
          {"not_validated", s.not_validated},
          {"timings_ms",
           {{"slot", s.slot_ms},
            {"drop", s.drop_ms},
            {"copy", s.copy_ms},
            {"units", s.units_ms},
            {"builds_during_copy", s.builds_during_copy_ms},
            {"indexes", s.index_ms},
            {"constraints", s.constraint_ms},
            {"total", s.total_ms}}}};
}

namespace detail {
namespace {

// Free connections of a server for one more client, keeping a few for everyone else.
int free_connections(pg::Connection& conn) {
  pg::Result r = conn.exec(
      "SELECT current_setting('max_connections')::int - current_setting('superuser_reserved_connections')::int "
      "- (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')::int AS free");
  return static_cast<int>(r.row(0).int64("free"));
}

int choose_jobs(pg::Connection& source, pg::Connection& target, int asked) {
  int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Each job holds a source connection and two target ones (its copier and its index builder).
  int room = std::min(free_connections(source), free_connections(target) / 2) - 3;
  int jobs = asked > 0 ? asked : cores;
  if (jobs > room) {
    if (asked > 0) spdlog::warn("--jobs {}: only {} connection(s) free on the busier side; using {}", asked, std::max(room, 1), std::max(room, 1));
    jobs = room;
  }
  return std::max(1, jobs);
}

// The leaves to read for each published table, with their columns and sizes on the source.
std::vector<CopyRelation> read_relations(pg::Connection& source, const catalog::Snapshot& src,
                                         const catalog::Snapshot& tgt, const std::vector<catalog::TableRef>& tables) {
  std::vector<CopyRelation> out;
  for (const auto& published : tables) {
    const catalog::Table* root = src.table(published);
    const catalog::Table* into = tgt.table(published);
    if (!root || !into) continue;
    std::vector<const catalog::Table*> leaves;
    if (root->kind == catalog::TableKind::partitioned) {
      for (const auto& t : src.tables) {
        if (t.kind == catalog::TableKind::partition && t.partition_root == published) leaves.push_back(&t);
      }
    } else {
      leaves.push_back(root);
    }
    for (const catalog::Table* leaf : leaves) {
      CopyRelation r;
      r.leaf = leaf->ref;
      r.target = published;
      for (const auto& name : copied_columns(*leaf)) {
        const catalog::Column* theirs = into->column(name);
        if (!theirs || theirs->generated != '\0') continue;  // computed there, or not there
        const catalog::Column* ours = leaf->column(name);
        r.columns.push_back(name);
        if (!binary_safe(*ours) || ours->type != theirs->type) r.binary = false;
      }
      out.push_back(std::move(r));
    }
  }
  // Sizes of the main forks, read now (not the snapshot's estimate).
  for (auto& r : out) {
    r.bytes = source.exec("SELECT pg_relation_size($1::regclass) AS bytes", {r.leaf.quoted()}).row(0).int64("bytes");
  }
  return out;
}

std::set<std::string> finished_units(state::Journal& journal, int64_t migration_id, const std::string& generation) {
  std::set<std::string> done;
  for (const auto& e : journal.events(migration_id)) {
    if (e.step == kStepCopyUnit && e.status == EventStatus::finished && e.detail.value("generation", "") == generation) {
      done.insert(e.detail.value("key", ""));
    }
  }
  return done;
}

// Empties the replicated tables on the target; the fence's TRUNCATE trigger is an ENABLE ORIGIN
// trigger, which a replica-role session does not fire (as for the copy itself).
void empty_tables(const pg::ConnInfo& target_info, const std::vector<catalog::TableRef>& tables) {
  pg::Connection conn = pg::Connection::open(target_info, "target");
  conn.exec("SET session_replication_role = replica");
  detail::truncate_all(conn, tables);
}

// Every half second: progress, and whether to stop (Ctrl-C, or sync stop asked in the journal).
class Ticker {
 public:
  Ticker(const pg::ConnInfo& target_info, int64_t migration_id, int64_t since_event,
         std::function<void()> tick)
      : target_info_(target_info), migration_id_(migration_id), since_(since_event), tick_(std::move(tick)) {
    thread_ = std::thread([this] { loop(); });
  }
  ~Ticker() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      done_ = true;
    }
    wake_.notify_all();
    thread_.join();
  }
  std::atomic<bool> cancel{false};
  std::atomic<bool> stop_requested{false};

 private:
  void loop() {
    std::optional<pg::Connection> conn;
    auto last_poll = Clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    while (!done_) {
      wake_.wait_for(lock, std::chrono::milliseconds(500));
      if (done_) break;
      if (util::interrupted()) cancel = true;
      if (Clock::now() - last_poll >= std::chrono::seconds(1)) {
        last_poll = Clock::now();
        try {
          if (!conn || !conn->is_ok()) conn = pg::Connection::open(target_info_, "target");
          if (!conn->exec("SELECT 1 FROM pgshift.event WHERE migration_id = $1 AND step = $2 AND id > $3",
                          {migration_id_, kStepCopyStopRequested, since_})
                   .empty()) {
            stop_requested = true;
            cancel = true;
          }
        } catch (const std::exception& e) {
          spdlog::debug("copy: reading the journal for a stop request: {}", e.what());
        }
      }
      lock.unlock();
      if (tick_) tick_();
      lock.lock();
    }
  }
  pg::ConnInfo target_info_;
  int64_t migration_id_;
  int64_t since_;
  std::function<void()> tick_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace

bool parallel_copy_pending(state::Journal& journal, int64_t migration_id) {
  std::optional<state::Event> copy = journal.last_event(migration_id, kStepCopy);
  if (!copy) return false;
  std::optional<state::Event> sub = journal.last_event(migration_id, "subscription", EventStatus::finished);
  return !sub || sub->id < copy->id;
}

std::optional<CopyStatus> read_copy_status(pg::Connection& target, state::Journal& journal, int64_t mid,
                                           std::vector<TableStatus>& tables) {
  if (!parallel_copy_pending(journal, mid)) return std::nullopt;
  CopyStatus st;
  st.state = "copying";
  std::vector<state::Event> events = journal.events(mid);
  const state::Event* plan_event = nullptr;
  for (const auto& e : events) {
    if (e.step == kStepCopyPlan) plan_event = &e;
  }
  st.deferred_open = static_cast<int>(open_deferred(journal, mid));
  bool connected = !target.exec("SELECT 1 FROM pg_stat_activity WHERE application_name IN ('pgshift copy', "
                                "'pgshift index build') AND pid <> pg_backend_pid()")
                        .empty();
  if (!plan_event) {
    st.state = connected ? "preparing" : "interrupted";
    return st;
  }
  const json& plan = plan_event->detail.at("plan");
  std::string generation = plan_event->detail.value("generation", "");
  st.jobs = plan_event->detail.value("jobs", 0);
  struct PerTable {
    int units = 0, done = 0;
    int64_t bytes_total = 0, bytes_done = 0;
  };
  std::map<std::string, PerTable> per_table;  // by the target table's display name
  std::vector<std::string> into;
  for (const auto& r : plan.at("relations")) into.push_back(r.value("into", ""));
  std::map<std::string, std::pair<size_t, int64_t>> unit_of;  // key -> relation, estimate
  for (const auto& u : plan.at("units")) {
    size_t rel = u.value("relation", size_t{0});
    unit_of[u.value("key", "")] = {rel, u.value("bytes", int64_t{0})};
    if (rel < into.size()) {
      per_table[into[rel]].units++;
      per_table[into[rel]].bytes_total += u.value("bytes", int64_t{0});
    }
    st.units_total++;
    st.bytes_total += u.value("bytes", int64_t{0});
  }
  std::set<std::string> seen;
  for (const auto& e : events) {
    if (e.step != kStepCopyUnit || e.status != EventStatus::finished || e.detail.value("generation", "") != generation) continue;
    std::string key = e.detail.value("key", "");
    if (!seen.insert(key).second) continue;
    st.units_done++;
    st.bytes_done += e.detail.value("bytes", int64_t{0});
    st.rows_done += e.detail.value("rows", int64_t{0});
    auto it = unit_of.find(key);
    if (it != unit_of.end() && it->second.first < into.size()) {
      auto& t = per_table[into[it->second.first]];
      t.done++;
      t.bytes_done += e.detail.value("bytes", int64_t{0});
    }
  }
  if (target.server_version() >= 140000) {
    pg::Result live = target.exec(R"sql(
SELECT n.nspname AS schema, c.relname AS name, p.bytes_processed AS bytes
  FROM pg_stat_progress_copy p
  JOIN pg_stat_activity a ON a.pid = p.pid
  JOIN pg_class c ON c.oid = p.relid
  JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE a.application_name = 'pgshift copy'
)sql");
    for (int i = 0; i < live.rows(); ++i) {
      catalog::TableRef ref{live.row(i).text("schema"), live.row(i).text("name")};
      int64_t bytes = live.row(i).int64("bytes");
      st.bytes_done += bytes;
      per_table[ref.display()].bytes_done += bytes;
    }
  }
  st.elapsed_seconds = target.exec("SELECT extract(epoch FROM clock_timestamp() - $1::timestamptz)::float8 AS s",
                                   {plan_event->at})
                           .row(0)
                           .float64("s");
  if (st.units_done == st.units_total) st.state = st.deferred_open ? "building indexes" : "done";
  if (!connected) st.state = "interrupted";
  if (st.state == "copying" && st.bytes_done > 0 && st.elapsed_seconds > 1) {
    double rate = static_cast<double>(st.bytes_done) / st.elapsed_seconds;
    st.eta_seconds = static_cast<double>(std::max<int64_t>(0, st.bytes_total - st.bytes_done)) / rate;
  }
  for (auto& t : tables) {
    auto it = per_table.find(t.table.display());
    if (it == per_table.end()) continue;
    const PerTable& p = it->second;
    t.state = p.done == p.units ? "copied" : (p.done > 0 || p.bytes_done > 0 ? "copying" : "waiting");
    t.copy_bytes = p.bytes_done;
    t.copy_bytes_total = p.bytes_total;
  }
  return st;
}

std::vector<catalog::TableRef> empty_unfinished_copy(const pg::ConnInfo& target_info, state::Journal& journal,
                                                     int64_t mid) {
  std::vector<catalog::TableRef> tables;
  std::optional<state::Event> plan = journal.last_event(mid, kStepCopyPlan);
  if (!plan || !parallel_copy_pending(journal, mid)) return tables;
  for (const auto& r : plan->detail.at("plan").at("relations")) {
    catalog::TableRef ref{r.value("into_schema", ""), r.value("into_name", "")};
    if (std::find(tables.begin(), tables.end(), ref) == tables.end()) tables.push_back(ref);
  }
  if (!tables.empty()) empty_tables(target_info, tables);
  return tables;
}

void end_recorded_keeper(pg::Connection& source, state::Journal& journal, int64_t migration_id) {
  std::optional<state::Event> slot = journal.last_event(migration_id, kStepCopySlot, EventStatus::finished);
  if (!slot) return;
  if (end_keepers(source, slot->detail.value("slot", "")) > 0) {
    spdlog::info("source: ended the snapshot keeper of the copy");
  }
}

CopySummary parallel_copy(pg::Connection& source, pg::Connection& target, const state::Plan& plan,
                          state::Journal& journal, int64_t mid, const std::vector<catalog::TableRef>& tables,
                          const ParallelCopyOptions& options) {
  const auto started = Clock::now();
  CopySummary summary;
  summary.jobs = choose_jobs(source, target, options.jobs);
  CopyProgress progress;
  progress.jobs = summary.jobs;
  std::mutex progress_mutex;
  auto report = [&](const std::string& phase) {
    if (!options.on_progress) return;
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress.phase = phase;
    progress.elapsed = util::Millis(util::ms_since(started));
    options.on_progress(progress);
  };

  // 1. The snapshot: the interrupted run's, when it still lives (a new keeper takes it over, so
  //    it outlives this run too); else a new slot.
  report("slot");
  std::optional<SnapshotKeeper> keeper;
  std::string snapshot, generation;
  std::set<std::string> done;
  if (std::optional<state::Event> recorded = journal.last_event(mid, kStepCopySlot, EventStatus::finished)) {
    std::string slot = recorded->detail.value("slot", plan.subscription);
    if (std::optional<SnapshotKeeper> heir = SnapshotKeeper::adopt(plan.source, slot, recorded->detail.value("snapshot", ""),
                                                                   options.snapshot_grace)) {
      keeper.emplace(std::move(*heir));
      snapshot = keeper->slot().snapshot;
      generation = recorded->detail.value("generation", "");
      summary.consistent_point = recorded->detail.value("lsn", "");
      done = finished_units(journal, mid, generation);
      journal.record(mid, kStepCopySlot, EventStatus::finished,
                     {{"slot", slot},
                      {"lsn", summary.consistent_point},
                      {"snapshot", snapshot},
                      {"generation", generation},
                      {"backend_pid", keeper->backend_pid()},
                      {"keeper_pid", keeper->pid()},
                      {"adopted", true}});
      end_keepers(source, slot, keeper->backend_pid());  // the earlier runs' keepers
      spdlog::info("copy: resuming on the interrupted run's snapshot; {} finished unit(s) kept", done.size());
    } else {
      spdlog::warn("copy: the interrupted run's snapshot is gone (its keeper ended: pgshift was away longer than "
                   "--snapshot-grace, or the source restarted); dropping slot {}, emptying the tables and copying "
                   "again from a new slot",
                   slot);
      end_keepers(source, slot);
      logical::drop_slot(source, slot);
      empty_tables(plan.target, tables);
      summary.restarted = true;
    }
  }
  if (!keeper) {
    spdlog::info("source: creating slot {} with an exported snapshot (waits for transactions running there)",
                 plan.subscription);
    keeper.emplace(SnapshotKeeper::start(plan.source, plan.subscription, options.snapshot_grace));
    snapshot = generation = keeper->slot().snapshot;
    summary.consistent_point = keeper->slot().consistent_point.to_string();
    journal.record(mid, kStepCopySlot, EventStatus::finished,
                   {{"slot", keeper->slot().slot},
                    {"lsn", summary.consistent_point},
                    {"snapshot", snapshot},
                    {"generation", generation},
                    {"backend_pid", keeper->backend_pid()},
                    {"keeper_pid", keeper->pid()}});
  }
  summary.slot_ms = util::ms_since(started);
  const int64_t since_event = journal.record(mid, kStepCopy, EventStatus::info, {{"generation", generation}});

  RestoreOptions restore;
  restore.jobs = summary.jobs;
  restore.maintenance_work_mem = options.maintenance_work_mem;
  restore.on_done = [&](const std::string&) {
    std::lock_guard<std::mutex> lock(progress_mutex);
    progress.objects_done++;
  };
  auto restore_now = [&]() -> std::string {
    try {
      RestoreOptions indexes_only = restore;
      indexes_only.keys_too = false;
      RestoreResult r = restore_deferred(plan.target, journal, mid, indexes_only);
      summary.not_validated = r.not_validated;
      return "";
    } catch (const std::exception& e) {
      return fmt::format("; restoring the dropped indexes failed too ({}): sync start or sync stop will try again",
                         e.what());
    }
  };

  std::optional<CopyMeter> meter;
  try {
    // 2. The plan: on a resume the recorded one (same ranges), else a new one.
    report("planning");
    catalog::Snapshot src = catalog::read_snapshot(source);
    catalog::Snapshot tgt = catalog::read_snapshot(target);
    std::vector<CopyRelation> relations = read_relations(source, src, tgt, tables);
    std::optional<CopyPlan> resumed;
    std::optional<state::Event> recorded_plan = journal.last_event(mid, kStepCopyPlan);
    if (!done.empty() && recorded_plan && recorded_plan->detail.value("generation", "") == generation) {
      resumed = plan_from_record(recorded_plan->detail.at("plan"), relations);
    }
    if (!done.empty() && !resumed) {
      // Another plan's ranges would overlap the finished ones: copy everything again.
      spdlog::warn("copy: the interrupted run's plan cannot be reused; emptying the tables and copying them again");
      empty_tables(plan.target, tables);
      done.clear();
    }
    CopyPlanOptions plan_options;
    plan_options.jobs = summary.jobs;
    plan_options.min_unit_bytes = options.unit_bytes;
    plan_options.ranges_allowed = source.server_version() >= 140000;  // TID range scans
    plan_options.block_size = std::stoll(source.exec("SELECT current_setting('block_size') AS b").row(0).text("b"));
    CopyPlan copy_plan = resumed ? std::move(*resumed) : plan_copy(std::move(relations), plan_options);
    summary.relations = static_cast<int>(copy_plan.relations.size());
    summary.units = static_cast<int>(copy_plan.units.size());

    // 3. Indexes and constraints out of the way: those still there, except on tables an earlier
    //    run copied completely (kept or rebuilt already: no row comes into them any more).
    report("dropping indexes");
    auto t = Clock::now();
    std::set<std::string> copied = tables_copied(copy_plan, done);
    std::vector<DeferredObject> deferrable;
    for (auto& o : read_deferrable(target, tables)) {
      if (!copied.count(o.table.display())) deferrable.push_back(std::move(o));
    }
    drop_deferred(target, journal, mid, deferrable);
    summary.drop_ms = util::ms_since(t);
    {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.objects_total = static_cast<int>(open_deferred(journal, mid));
    }

    // 4. The copy.
    journal.record(mid, kStepCopyPlan, EventStatus::info,
                   {{"generation", generation}, {"jobs", summary.jobs}, {"plan", copy_plan.to_json()}});
    spdlog::info("copy: {} table(s) in {} unit(s), about {}, {} worker(s)", copy_plan.relations.size(),
                 copy_plan.units.size(), util::format_bytes(copy_plan.total_bytes), summary.jobs);
    meter.emplace(copy_plan);
    t = Clock::now();
    {
      Ticker ticker(plan.target, mid, since_event, [&] {
        {
          std::lock_guard<std::mutex> lock(progress_mutex);
          progress.copy = meter->view();
        }
        report("copying");
      });
      CopyWorkerOptions workers;
      workers.source = plan.source;
      workers.target = plan.target;
      workers.snapshot = snapshot;
      workers.generation = generation;
      workers.migration_id = mid;
      workers.jobs = summary.jobs;
      workers.done = done;
      for (auto& p : pending_objects(journal, mid)) {
        if (p.object.builds_index()) workers.builds.push_back(std::move(p));
      }
      workers.maintenance_work_mem = options.maintenance_work_mem;
      try {
        run_copy_workers(copy_plan, workers, *meter, ticker.cancel);
      } catch (const CopyCancelled&) {
        if (ticker.stop_requested) {
          throw CopyInterrupted("sync start: stopped by pgshift sync stop during the copy");
        }
        throw CopyCancelled("interrupted");
      }
    }
    CopyMeter::View v = meter->view();
    summary.copy_ms = util::ms_since(t);
    summary.bytes = v.bytes_done;
    summary.rows = v.rows;
    summary.units_reused = v.units_reused;
    summary.units_ms = v.last_unit_ms;
    summary.builds_during_copy_ms = v.build_ms;
    {
      std::lock_guard<std::mutex> lock(progress_mutex);
      progress.copy = v;
    }

    // 5. Indexes and constraints back, in parallel.
    report("building indexes");
    RestoreResult r = restore_deferred(plan.target, journal, mid, restore);
    summary.indexes = r.indexes + v.objects_rebuilt;
    summary.constraints = r.constraints;
    summary.not_validated = r.not_validated;
    summary.index_ms = r.index_ms;
    summary.constraint_ms = r.constraint_ms;
    for (const auto& n : r.not_validated) {
      spdlog::warn("target: {} stays NOT VALID (the copied rows violate it); VALIDATE it once fixed", n);
    }
  } catch (const CopyInterrupted&) {
    throw;  // sync stop restores the indexes
  } catch (const CopyCancelled&) {
    throw CopyInterrupted(fmt::format("sync start interrupted during the copy{}; slot {} and the finished ranges are "
                                      "kept, the indexes rebuilt (foreign keys and checks come back when the copy "
                                      "finishes, or on sync stop): run sync start again within {} to resume on the same snapshot, or "
                                      "pgshift sync stop to undo",
                                      restore_now(), plan.subscription, util::format_duration(options.snapshot_grace)));
  } catch (const std::exception& e) {
    throw CopyInterrupted(fmt::format("sync start failed during the copy: {}{}; slot {} and the finished ranges are "
                                      "kept and the indexes rebuilt (foreign keys and checks come back when the copy finishes, or on sync stop): fix the cause and run sync start again within "
                                      "{} to resume, or pgshift sync stop to undo",
                                      e.what(), restore_now(), plan.subscription,
                                      util::format_duration(options.snapshot_grace)));
  }
  // The copy is whole: the snapshot is no longer needed (streaming starts at the slot's point).
  if (keeper) keeper->release();
  summary.total_ms = util::ms_since(started);
  return summary;
}

}  // namespace detail
}  // namespace pgshift::replication
