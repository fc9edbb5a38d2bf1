// run_drill: marker, restore, recovery, checks, teardown (drill.hpp has the contract).
#include "backup/drill.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backup/drill_checks.hpp"
#include "backup/restore.hpp"
#include "backup/scratch_server.hpp"
#include "backup/tools.hpp"
#include "backup/wal.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/redact.hpp"

namespace pgshift::backup {
namespace {

using Clock = std::chrono::steady_clock;

constexpr std::string_view kMarkerDdl[] = {
    "CREATE SCHEMA IF NOT EXISTS pgshift",
    "CREATE TABLE IF NOT EXISTS pgshift.drill_marker (nonce text PRIMARY KEY, "
    "created_at timestamptz NOT NULL DEFAULT clock_timestamp())",
};
// Committed on its own (autocommit): a marker written in the transaction that switches WAL would
// sit in the next segment and never be archived before the drill looks for it.
constexpr std::string_view kMarkerInsert =
    "INSERT INTO pgshift.drill_marker (nonce) VALUES ($1) RETURNING extract(epoch FROM created_at)::float8 AS t";
constexpr std::string_view kMarkerWal =
    "SELECT pg_walfile_name(pg_current_wal_insert_lsn()) AS wal, pg_current_wal_insert_lsn()::text AS lsn";
constexpr std::string_view kSwitchWal = "SELECT pg_switch_wal()";
constexpr std::string_view kLastArchived = "SELECT last_archived_wal, last_failed_wal FROM pg_stat_archiver";
constexpr std::string_view kPreload = "SELECT current_setting('shared_preload_libraries')";
constexpr std::string_view kSubscriptions = "SELECT subname FROM pg_subscription WHERE subenabled";

// Libraries that act on the outside world when a server starts.
constexpr std::string_view kOutwardLibraries[] = {"pg_cron", "pg_net"};

// A drill that ran and found a problem (exit 1), as opposed to one that could not run (exit 3).
struct Failed : RuntimeError {
  using RuntimeError::RuntimeError;
};

double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

std::string random_nonce() {
  unsigned char buf[12];
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  if (!urandom.read(reinterpret_cast<char*>(buf), sizeof buf)) throw RuntimeError("cannot read /dev/urandom for the drill marker");
  std::string out;
  for (unsigned char c : buf) out += fmt::format("{:02x}", c);
  return out;
}

// The segment that last_archived_wal proves archived: a ".backup" history file of segment N is
// archived before N is complete, so it only proves N-1.
std::optional<WalName> archived_segment(const std::string& name) {
  auto w = parse_wal_name(name.substr(0, 24), 16 * 1024 * 1024);
  if (!w) return std::nullopt;
  if (name.find(".backup") != std::string::npos) {
    if (w->segno == 0) return std::nullopt;
    --w->segno;
  }
  return w;
}

void write_marker(pg::Connection& live, DrillReport& r, Clock::time_point deadline, const DrillOptions& o) {
  for (auto ddl : kMarkerDdl) live.exec(ddl);
  r.marker_nonce = random_nonce();
  r.marker_time = live.exec(kMarkerInsert, {r.marker_nonce}).row(0).float64("t");
  r.marker_written = true;
  pg::Result w = live.exec(kMarkerWal);
  r.marker_wal = w.row(0).text("wal");
  live.exec(kSwitchWal);
  auto want = parse_wal_name(r.marker_wal, 16 * 1024 * 1024);
  if (o.progress) o.progress(fmt::format("marker {} written; waiting for {} to be archived", r.marker_nonce, r.marker_wal));
  while (true) {
    pg::Result a = live.exec(kLastArchived);
    auto got = archived_segment(a.row(0).text("last_archived_wal"));
    if (got && want && got->timeline >= want->timeline && got->segno >= want->segno) return;
    if (util::interrupted()) throw Failed("interrupted (SIGINT/SIGTERM) while waiting for the marker's WAL to be archived");
    if (Clock::now() >= deadline) {
      std::string failed = a.row(0).text("last_failed_wal");
      throw Failed(fmt::format("the marker's WAL segment {} was not archived before the deadline (last archived {}{})",
                               r.marker_wal, a.row(0).text("last_archived_wal"),
                               failed.empty() ? "" : ", last failed " + failed + ": archive_command is failing"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

std::string stripped_preload(pg::Connection& live, const std::string& pkglibdir, DrillReport& r) {
  std::string given = live.exec(kPreload).scalar();
  std::string kept;
  std::stringstream in(given);
  for (std::string lib; std::getline(in, lib, ',');) {
    lib.erase(0, lib.find_first_not_of(" \"'"));
    lib.erase(lib.find_last_not_of(" \"'") + 1);
    if (lib.empty()) continue;
    bool outward = false;
    for (auto o : kOutwardLibraries) outward = outward || lib == o;
    if (outward) {
      r.notes.push_back("shared_preload_libraries: " + lib + " left out (it acts on the outside)");
    } else if (!std::filesystem::exists(pkglibdir + "/" + lib + ".so")) {
      r.notes.push_back("shared_preload_libraries: " + lib + " left out (not installed here)");
    } else {
      kept += (kept.empty() ? "" : ",") + lib;
    }
  }
  return kept;
}

const BackupEntry& choose_backup(const SourceInventory& inv, const std::string& wanted) {
  if (inv.verdict == "unreadable") throw RuntimeError(inv.problems.empty() ? "cannot read " + inv.source : inv.problems.front());
  if (wanted.empty() || wanted == "latest") {
    if (const BackupEntry* b = inv.newest_usable()) return *b;
    throw Failed(fmt::format("{} has no usable backup to restore", inv.source));
  }
  for (const auto& b : inv.backups) {
    if (b.id == wanted) return b;
  }
  throw UsageError(fmt::format("--backup {}: no such backup in {}", wanted, inv.source));
}

void notify(const DrillOptions& o, const DrillReport& r) {
  if (o.notify_command.empty() || r.passed) return;
  util::ProcessSpec spec;
  spec.argv = {"/bin/sh", "-c", o.notify_command};
  try {
    util::RunResult res = util::run(spec, util::Millis(60'000), r.to_json().dump(2) + "\n");
    if (res.exit_code != 0) std::fprintf(stderr, "pgshift: --notify-command exited %d\n", res.exit_code);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgshift: --notify-command: %s\n", util::redact(e.what()).c_str());
  }
}

}  // namespace

DrillReport run_drill(const DrillOptions& o) {
  auto t0 = Clock::now();
  auto deadline = t0 + o.timeout;
  SourceSpec spec = parse_source(o.source);
  if (spec.kind == "cnpg") {
    throw UsageError("drill --from cnpg: restores run in the Kubernetes cluster; use --cnpg NS/CLUSTER --render");
  }
  if (o.tolerance < 0 || o.tolerance >= 1) throw UsageError("--tolerance: expected a fraction in [0%, 100%)");
  util::install_interrupt_handler();
  DrillReport r;
  r.source = o.source;
  std::unique_ptr<ScratchServer> server;
  std::string stage = "connecting to live";
  auto step = [&o, &stage](std::string what) {
    stage = what;
    if (o.progress) o.progress(what);
  };
  try {
    pg::Connection live = pg::Connection::open(o.live, "live");
    step("reading " + o.source);
    InventoryOptions tools = o.tools;
    tools.verify = false;  // the restore itself verifies (pg_verifybackup for dir:, checksums for the tools)
    SourceInventory inv = read_source(o.source, tools, std::nullopt);
    const BackupEntry& b = choose_backup(inv, o.backup);
    r.backup_id = b.id;
    r.backup_method = b.method;
    r.backup_stop_time = b.stop_time;
    step("writing the marker on live");
    auto tm = Clock::now();
    try {
      write_marker(live, r, deadline, o);
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("cannot write the drill marker on live: {}", e.what()));
    }
    r.marker_s = seconds_since(tm);
    step("restoring " + b.id + " from " + o.source);
    auto tr = Clock::now();
    server = ScratchServer::create();
    r.server_dir = server->root();
    std::string restore_command;
    try {
      restore_command = restore_into(spec, b, tools, server->data(), server->root() + "/restore.log", deadline);
    } catch (const ProblemsFound& e) {
      throw Failed(e.what());
    } catch (const RuntimeError& e) {
      std::string what = e.what();
      if (what.find("is not installed") != std::string::npos) throw;
      throw Failed(what);
    }
    r.restore_s = seconds_since(tr);
    r.pg_major = server->major();
    std::string pkglib = std::filesystem::path(server->bindir()).parent_path().string() + "/lib";
    std::map<std::string, std::string> settings = {
        {"archive_mode", "off"},
        {"archive_command", ""},
        {"restore_command", restore_command},
        {"recovery_target_timeline", "latest"},
        {"recovery_target_action", "promote"},
        {"primary_conninfo", ""},
        {"primary_slot_name", ""},
        {"synchronous_standby_names", ""},
        {"hot_standby", "off"},
        {"max_logical_replication_workers", "0"},
        {"shared_preload_libraries", stripped_preload(live, pkglib, r)},
        {"ssl", "off"},
        {"fsync", "off"},
        {"logging_collector", "off"},
        {"log_destination", "stderr"},
        {"cluster_name", "pgshift-drill"},
    };
    step(fmt::format("recovering (PostgreSQL {}, {})", r.pg_major, server->root()));
    auto tv = Clock::now();
    try {
      server->start(settings);
      r.server_port = server->port();
      server->wait_ready(deadline);
    } catch (const RuntimeError& e) {
      throw Failed(e.what());
    }
    r.recovery_s = seconds_since(tv);
    step("checking schema, row counts and the marker");
    auto tc = Clock::now();
    pg::Connection restored = pg::Connection::open(server->conninfo(o.live.dbname(), o.live.user()), "restored");
    for (int i = 0; i < 600 && restored.exec("SELECT pg_is_in_recovery()").scalar() == "t"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    for (const auto& sub : [&] {
           std::vector<std::string> names;
           pg::Result s = restored.exec(kSubscriptions);
           for (int i = 0; i < s.rows(); ++i) names.emplace_back(s.view(i, 0));
           return names;
         }()) {
      restored.exec("ALTER SUBSCRIPTION \"" + sub + "\" DISABLE");
      r.notes.push_back("subscription " + sub + " disabled in the restore");
    }
    run_checks(live, restored, o.tolerance, r);
    r.checks_s = seconds_since(tc);
    std::vector<std::string> reasons;
    if (!*r.schema_ok) {
      std::string list;
      for (size_t i = 0; i < r.schema_differences.size() && i < 5; ++i) list += (i ? "; " : "") + r.schema_differences[i];
      reasons.push_back("schema differs from live: " + list);
    }
    for (const auto& t : r.tables) {
      if (t.ok) continue;
      reasons.push_back(t.restored ? fmt::format("{}: {} rows restored, {} on live (more than {:.0f}% apart)", t.name,
                                                 *t.restored, t.live, o.tolerance * 100)
                                   : fmt::format("{}: missing from the restore", t.name));
    }
    if (!r.marker_found) {
      reasons.push_back(fmt::format("marker {} not restored: recovery ended at {} before the marker's segment {} "
                                    "(a WAL segment missing from the archive?)",
                                    r.marker_nonce, r.recovery_end_lsn.empty() ? "?" : r.recovery_end_lsn, r.marker_wal));
    }
    for (size_t i = 0; i < reasons.size(); ++i) r.reason += (i ? "; " : "") + reasons[i];
    r.passed = reasons.empty();
  } catch (const Failed& e) {
    r.reason = util::redact(e.what());
  } catch (const Error& e) {
    if (e.exit_code() == ExitCode::usage) throw;
    r.reason = util::redact(e.what());
    // Before the restore the drill could not run; a failure from the restore on is a finding.
    r.could_not_run = !server || std::string(e.what()).find("is not installed") != std::string::npos;
  }
  if (util::interrupted() && r.passed) {
    r.passed = false;
    r.reason = "interrupted (SIGINT/SIGTERM)";
  }
  if (server) {
    if (!r.passed && o.keep_on_failure) {
      try {
        r.connect_hint = server->keep(o.live.dbname(), o.live.user());
        r.kept_dir = server->root();
      } catch (const Error& e) {
        r.notes.push_back(e.what());
      }
    }
    server.reset();  // stops the server and removes the directory (unless kept)
  }
  r.total_s = seconds_since(t0);
  notify(o, r);
  return r;
}

}  // namespace pgshift::backup
