// run_drill: marker, restore, recovery, checks, teardown (drill.hpp has the contract).
#include "backup/drill.hpp"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "backup/drill_checks.hpp"
#include "backup/drill_integrity.hpp"
#include "backup/drill_steps.hpp"
#include "backup/restore.hpp"
#include "backup/scratch_server.hpp"
#include "backup/tools.hpp"
#include "backup/wal.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"
#include "util/redact.hpp"

namespace pgshift::backup {
namespace {


constexpr std::string_view kPreload = "SELECT current_setting('shared_preload_libraries')";
constexpr std::string_view kSubscriptions = "SELECT subname FROM pg_subscription WHERE subenabled";
// The role initdb created (BOOTSTRAP_SUPERUSERID): pg_amcheck runs as it over the private socket.
constexpr std::string_view kBootstrapSuperuser = "SELECT rolname FROM pg_roles WHERE oid = 10";

// Libraries that act on the outside world when a server starts.
constexpr std::string_view kOutwardLibraries[] = {"pg_cron", "pg_net"};

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
    throw DrillFailed(fmt::format("{} has no usable backup to restore", inv.source));
  }
  for (const auto& b : inv.backups) {
    if (b.id != wanted) continue;
    if (!b.usable()) throw DrillFailed(fmt::format("backup {} in {} is {}: {}", b.id, inv.source, b.status, b.error.empty() ? b.phase : b.error));
    return b;
  }
  std::string have;
  for (const auto& b : inv.backups) have += (have.empty() ? "" : ", ") + b.id;
  // A finding, not bad usage: a scheduled drill whose backup expired must report and notify.
  throw DrillFailed(fmt::format("--backup {}: no such backup in {} (it has: {})", wanted, inv.source, have.empty() ? "none" : have));
}

// The phase in progress: its time is recorded when the next begins or when it fails, so a
// failed phase shows how long it ran.
struct PhaseClock {
  DrillReport& r;
  std::string name;
  double* slot = nullptr;
  Clock::time_point start;
  void begin(std::string phase, double* into) {
    end();
    name = std::move(phase);
    slot = into;
    start = Clock::now();
  }
  void end() {
    if (slot) *slot = seconds_since(start);
    slot = nullptr;
  }
  void failed() {
    if (!slot) return;
    r.failed_phase = name;
    end();
  }
};

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
  PhaseClock phase{r, "", nullptr, {}};
  auto step = [&o](const std::string& what) {
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
    phase.begin("marker", &r.marker_s);
    try {
      write_marker(live, r, deadline, o.progress);
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("cannot write the drill marker on live: {}", e.what()));
    }
    step("restoring " + b.id + " from " + o.source);
    phase.begin("restore", &r.restore_s);
    server = ScratchServer::create();
    r.server_dir = server->root();
    std::string restore_command;
    try {
      restore_command = restore_into(spec, b, tools, server->data(), server->root() + "/restore.log", deadline);
    } catch (const ProblemsFound& e) {
      throw DrillFailed(e.what());
    } catch (const RuntimeError& e) {
      std::string what = e.what();
      if (what.find("is not installed") != std::string::npos) throw;
      throw DrillFailed(what);
    }
    phase.end();
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
    phase.begin("recovery", &r.recovery_s);
    try {
      server->start(settings);
      r.server_port = server->port();
      server->wait_ready(deadline);
    } catch (const RuntimeError& e) {
      throw DrillFailed(e.what());
    }
    pg::Connection restored = pg::Connection::open(server->conninfo(o.live.dbname(), o.live.user()), "restored");
    while (restored.exec("SELECT pg_is_in_recovery()").scalar() == "t") {  // promotion follows the end of recovery
      if (Clock::now() >= deadline) throw DrillFailed("timed out waiting for the restored server's promotion");
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    phase.end();
    r.rto_s = r.restore_s + r.recovery_s;
    step("checking schema, row counts, the marker and the restored pages (pg_amcheck)");
    phase.begin("checks", &r.checks_s);
    for (const auto& sub : [&] {
           std::vector<std::string> names;
           pg::Result s = restored.exec(kSubscriptions);
           for (int i = 0; i < s.rows(); ++i) names.emplace_back(s.view(i, 0));
           return names;
         }()) {
      restored.exec("ALTER SUBSCRIPTION " + pg::quote_ident(sub) + " DISABLE");
      r.notes.push_back("subscription " + sub + " disabled in the restore");
    }
    IntegrityOptions io;
    io.bindir = server->bindir();
    io.major = std::atoi(r.pg_major.c_str());
    io.superuser = server->conninfo(o.live.dbname(), restored.exec(kBootstrapSuperuser).scalar());
    io.log_dir = server->root();
    io.heapallindexed_budget = o.heapallindexed_budget;
    io.deadline = deadline;
    check_restore(live, restored, o.tolerance, r, [&] { check_integrity(io, r); });
    phase.slot = nullptr;  // check_restore timed checks and integrity itself
  } catch (const DrillFailed& e) {
    phase.failed();
    record_error(r, e, false);
  } catch (const Error& e) {
    if (e.exit_code() == ExitCode::usage) throw;
    phase.failed();
    // Before the restore the drill could not run; a failure from the restore on is a finding.
    record_error(r, e, !server || std::string(e.what()).find("is not installed") != std::string::npos);
  }
  mark_interrupted(r);
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
  notify(o.notify_command, r);
  return r;
}

}  // namespace pgshift::backup
