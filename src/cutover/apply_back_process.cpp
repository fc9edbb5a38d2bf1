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
  ApplyBackProcess p{child.pid(), slot, publication, log, allow_triggers, ""};
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

namespace {

// Whether pid is a live local `... sync apply-back ... --slot <slot> ...` (never a reused pid).
bool local_apply_back(int pid, const std::string& slot) {
  reap_if_child(pid);
  if (!alive(pid)) return false;
  std::vector<std::string> argv = cmdline_of(pid);
  auto has = [&](std::string_view a) { return std::find(argv.begin(), argv.end(), a) != argv.end(); };
  auto slot_it = std::find(argv.begin(), argv.end(), "--slot");
  return has("sync") && has("apply-back") && slot_it != argv.end() && slot_it + 1 != argv.end() &&
         *(slot_it + 1) == slot;
}

// Waits for a local process to exit (it does once its stream ends), SIGKILL at the deadline.
void wait_local_exit(int pid, const std::string& slot, util::Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    reap_if_child(pid);
    if (!alive(pid)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (local_apply_back(pid, slot)) {
    spdlog::warn("apply-back pid {} did not exit within {} after its stream ended; killing it (it restarts without "
                 "loss)",
                 pid, util::format_duration(timeout));
    ::kill(pid, SIGKILL);
    for (int i = 0; i < 100 && alive(pid); ++i) {
      reap_if_child(pid);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

constexpr std::string_view kSlotHolderSql =
    "SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1 AND database = current_database() AND active";

}  // namespace

std::optional<int> apply_back_holder(pg::Connection& target, const std::string& slot) {
  pg::Result r = target.exec(kSlotHolderSql, {slot});
  if (r.empty() || r.is_null(0, 0)) return std::nullopt;
  return std::stoi(std::string(r.view(0, 0)));
}

bool stop_apply_back(pg::Connection& target, const std::string& slot, const ApplyBackProcess* p, util::Millis timeout) {
  bool held = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::optional<int> walsender = apply_back_holder(target, slot)) {
    if (!held) spdlog::info("apply-back: stopping the apply streaming slot {} (walsender pid {})", slot, *walsender);
    held = true;
    try {
      target.exec("SELECT pg_terminate_backend($1::int)", {std::to_string(*walsender)});
    } catch (const pg::SqlError& e) {
      throw RuntimeError(fmt::format("{}: cannot stop pgshift's apply streaming slot {} (walsender pid {}): {}",
                                     target.endpoint(), slot, *walsender, e.server_message()));
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      throw RuntimeError(fmt::format("{}: slot {} is still streamed by walsender pid {} after {}; stop that apply-back "
                                     "and run this again",
                                     target.endpoint(), slot, *walsender, util::format_duration(timeout)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (p && local_apply_back(p->pid, slot)) wait_local_exit(p->pid, slot, timeout);
  return held;
}

std::optional<ApplyBackProcess> recorded_apply_back(state::Journal& journal, int64_t migration_id) {
  std::optional<state::Event> e = journal.last_event(migration_id, kApplyBackStep, state::EventStatus::finished);
  if (!e) return std::nullopt;
  std::optional<state::Event> sw = journal.last_event(migration_id, "switch", state::EventStatus::finished);
  if (sw && sw->id > e->id) return std::nullopt;
  ApplyBackProcess p = ApplyBackProcess::from_json(e->detail);
  size_t at = e->who.rfind('@');
  if (at != std::string::npos) p.host = e->who.substr(at + 1);
  return p;
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
  std::optional<ApplyBackProcess> recorded;
  try {
    state::Journal journal(target, "status");
    std::optional<state::Migration> m = journal.current();
    if (!m || m->phase != state::Phase::cut_over) return std::nullopt;
    recorded = recorded_apply_back(journal, m->id);
    if (!recorded) return std::nullopt;
    started = journal.last_event(m->id, kApplyBackStep, state::EventStatus::finished);
    failed = journal.last_event(m->id, kApplyBackStep, state::EventStatus::failed);
  } catch (const pg::SqlError&) {
    return std::nullopt;  // no journal on this target
  }
  const ApplyBackProcess& p = *recorded;
  nlohmann::json j = p.to_json();
  j["started_by"] = started->who;
  j["host"] = p.host.empty() ? nlohmann::json() : nlohmann::json(p.host);
  std::optional<int> walsender = apply_back_holder(target, p.slot);
  j["running"] = walsender.has_value();
  j["walsender_pid"] = walsender ? nlohmann::json(*walsender) : nlohmann::json();
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
