// Starting, finding and stopping the detached `pgshift sync apply-back` (apply_back_process.hpp).
#include "cutover/apply_back_process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "logical/apply.hpp"
#include "pg/error.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace pgshift::cutover {
namespace {

std::vector<std::string> cmdline_of(int pid) {
  std::ifstream in(fmt::format("/proc/{}/cmdline", pid), std::ios::binary);
  std::vector<std::string> out;
  std::string arg;
  while (std::getline(in, arg, '\0')) out.push_back(arg);
  return out;
}

// A zombie (exited, not reaped: our own child) still has a /proc entry but no command line.
bool alive(int pid) { return pid > 0 && ::kill(pid, 0) == 0 && !cmdline_of(pid).empty(); }

void reap_if_child(int pid) { ::waitpid(pid, nullptr, WNOHANG); }

}  // namespace

nlohmann::json ApplyBackProcess::to_json() const {
  return {{"pid", pid}, {"slot", slot}, {"publication", publication}, {"log", log}, {"allow_triggers", allow_triggers}};
}

ApplyBackProcess ApplyBackProcess::from_json(const nlohmann::json& j) {
  ApplyBackProcess p;
  p.pid = j.value("pid", -1);
  p.slot = j.value("slot", "");
  p.publication = j.value("publication", "");
  p.log = j.value("log", "");
  p.allow_triggers = j.value("allow_triggers", false);
  return p;
}

ApplyBackProcess start_apply_back(const pg::ConnInfo& source, const pg::ConnInfo& target, const std::string& slot, const std::string& publication,
                                  const std::string& log, bool allow_triggers, util::Millis settle) {
  util::ProcessSpec spec;
  spec.argv = {"/proc/self/exe", "sync", "apply-back", "--slot", slot, "--publication", publication};
  if (allow_triggers) spec.argv.push_back("--allow-triggers");
  spec.env = {{"PGSHIFT_SOURCE_URL", source.to_conninfo()},
              {"PGSHIFT_TARGET_URL", target.to_conninfo()},
              {kApplyBackLogEnv, log}};
  spec.unset_env = {"PGSHIFT_CONFIG"};
  spec.output_file = log;
  spec.new_session = true;
  util::Child child = util::spawn(spec);
  ApplyBackProcess p{child.pid(), slot, publication, log, allow_triggers};
  if (std::optional<int> code = child.wait_for(settle)) {
    std::string last = last_error_line(log);
    throw RuntimeError(fmt::format("pgshift sync apply-back exited at once (exit {}){}; log {}", *code,
                                   last.empty() ? "" : ": " + last, log));
  }
  spdlog::info("apply-back: started pid {} (slot {}, log {})", p.pid, slot, log);
  return p;
}

std::string apply_back_log_path(const std::string& given, int64_t migration_id) {
  std::string log = given.empty() ? fmt::format("pgshift-apply-back-{}.log", migration_id) : given;
  return std::filesystem::absolute(log).string();
}

bool apply_back_running(int pid, const std::string& slot) {
  reap_if_child(pid);
  if (!alive(pid)) return false;
  std::vector<std::string> argv = cmdline_of(pid);
  auto has = [&](std::string_view a) { return std::find(argv.begin(), argv.end(), a) != argv.end(); };
  auto slot_it = std::find(argv.begin(), argv.end(), "--slot");
  return has("sync") && has("apply-back") && slot_it != argv.end() && slot_it + 1 != argv.end() &&
         *(slot_it + 1) == slot;
}

bool stop_apply_back(const ApplyBackProcess& p, util::Millis timeout) {
  if (!apply_back_running(p.pid, p.slot)) return false;
  ::kill(p.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    reap_if_child(p.pid);
    if (!alive(p.pid)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (apply_back_running(p.pid, p.slot)) {
    spdlog::warn("apply-back pid {} did not stop within {}; killing it (it restarts without loss)", p.pid,
                 util::format_duration(timeout));
    ::kill(p.pid, SIGKILL);
    for (int i = 0; i < 100 && alive(p.pid); ++i) {
      reap_if_child(p.pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  return true;
}

std::optional<ApplyBackProcess> recorded_apply_back(state::Journal& journal, int64_t migration_id) {
  std::optional<state::Event> e = journal.last_event(migration_id, kApplyBackStep, state::EventStatus::finished);
  if (!e) return std::nullopt;
  std::optional<state::Event> sw = journal.last_event(migration_id, "switch", state::EventStatus::finished);
  if (sw && sw->id > e->id) return std::nullopt;
  return ApplyBackProcess::from_json(e->detail);
}

std::optional<int64_t> journal_apply_back(pg::Connection& target, const ApplyBackProcess& p) {
  state::Journal journal(target, "sync apply-back");
  std::optional<state::Migration> m = journal.current();
  if (!m || m->phase != state::Phase::cut_over) return std::nullopt;
  nlohmann::json j = p.to_json();
  j["summary"] = fmt::format("pgshift sync apply-back running (pid {}), streaming slot {}", p.pid, p.slot);
  journal.record(m->id, kApplyBackStep, state::EventStatus::finished, j);
  return m->id;
}

void journal_apply_back_error(pg::Connection& target, int64_t migration_id, int pid, const std::string& error) noexcept {
  try {
    state::Journal journal(target, "sync apply-back");
    journal.record(migration_id, kApplyBackStep, state::EventStatus::failed, {{"pid", pid}, {"error", error}});
  } catch (const std::exception& e) {
    spdlog::warn("apply-back: could not journal the error: {}", e.what());
  }
}

std::optional<nlohmann::json> apply_back_status(pg::Connection& source, pg::Connection& target) {
  std::optional<state::Event> started, failed;
  try {
    state::Journal journal(target, "status");
    std::optional<state::Migration> m = journal.current();
    if (!m || m->phase != state::Phase::cut_over) return std::nullopt;
    if (!recorded_apply_back(journal, m->id)) return std::nullopt;
    started = journal.last_event(m->id, kApplyBackStep, state::EventStatus::finished);
    failed = journal.last_event(m->id, kApplyBackStep, state::EventStatus::failed);
  } catch (const pg::SqlError&) {
    return std::nullopt;  // no journal on this target
  }
  ApplyBackProcess p = ApplyBackProcess::from_json(started->detail);
  nlohmann::json j = p.to_json();
  j["started_by"] = started->who;
  j["running"] = apply_back_running(p.pid, p.slot);
  pg::Lsn applied = logical::stored_apply_lsn(source, p.slot);
  j["applied_lsn"] = applied.is_zero() ? nlohmann::json() : nlohmann::json(applied.to_string());
  pg::Lsn now = pg::Lsn::parse_or_throw(target.exec("SELECT pg_current_wal_insert_lsn()::text").scalar(),
                                        "pg_current_wal_insert_lsn()");
  j["lag_bytes"] = applied.is_zero() ? nlohmann::json() : nlohmann::json(std::max<int64_t>(0, now.bytes_after(applied)));
  // The error this process stopped with; a log line from an earlier run is no news while it runs.
  std::string err;
  if (failed && failed->id > started->id && failed->detail.value("pid", -1) == p.pid) {
    err = failed->detail.value("error", std::string());
  } else if (!j["running"].get<bool>()) {
    err = last_error_line(p.log);
  }
  j["last_error"] = err.empty() ? nlohmann::json() : nlohmann::json(err);
  return j;
}

std::string last_error_line(const std::string& log) {
  std::ifstream in(log);
  std::string line, found;
  while (std::getline(in, line)) {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.find("error") != std::string::npos || lower.find("failed") != std::string::npos ||
        lower.find("conflict") != std::string::npos || lower.find("refus") != std::string::npos) {
      found = line;
    }
  }
  return found;
}

}  // namespace pgshift::cutover
