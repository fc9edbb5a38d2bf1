#include "cutover/watchdog.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <cstring>
#include <iostream>

#include "cutover/pooler.hpp"
#include "fence/fence.hpp"
#include "state/journal.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace pgshift::cutover {
namespace {

pg::ConnectOptions quick(const std::string& role) {
  pg::ConnectOptions o;
  o.application_name = "pgshift/watchdog";
  o.connect_timeout = util::Millis(2000);
  o.role = role;
  return o;
}

// Lets writes through on one side (one statement); the inert triggers are for pgshift cutover
// --resume (or finalize) to remove. Returns what it did for the journal.
std::string lift_fence(const pg::ConnInfo& info, const std::string& role) {
  pg::Connection conn = pg::Connection::open(info, quick(role));
  size_t n = fence::disarm(conn);
  return fmt::format("disarmed the fence on {} tables of the {}", n, role);
}

}  // namespace

nlohmann::json WatchdogConfig::to_json() const {
  nlohmann::json j{{"action", action},
                   {"migration_id", migration_id},
                   {"writer", writer.to_conninfo()},
                   {"replica", replica.to_conninfo()},
                   {"journal", journal.to_conninfo()},
                   {"pooler_db", pooler_db},
                   {"pooler_config", pooler_config},
                   {"pooler_config_backup", pooler_config_backup},
                   {"new_endpoint", {new_endpoint.host, new_endpoint.port, new_endpoint.dbname}}};
  if (pooler_admin) j["pooler_admin"] = pooler_admin->to_conninfo();
  return j;
}

WatchdogConfig WatchdogConfig::from_json(const nlohmann::json& j) {
  WatchdogConfig c;
  c.action = j.at("action");
  c.migration_id = j.at("migration_id");
  c.writer = pg::ConnInfo::parse(j.at("writer").get<std::string>(), "watchdog writer");
  c.replica = pg::ConnInfo::parse(j.at("replica").get<std::string>(), "watchdog replica");
  c.journal = pg::ConnInfo::parse(j.at("journal").get<std::string>(), "watchdog journal");
  if (j.contains("pooler_admin")) {
    c.pooler_admin = pg::ConnInfo::parse(j.at("pooler_admin").get<std::string>(), "watchdog pooler");
  }
  c.pooler_db = j.value("pooler_db", "");
  c.pooler_config = j.value("pooler_config", "");
  c.pooler_config_backup = j.value("pooler_config_backup", "");
  const auto& e = j.at("new_endpoint");
  c.new_endpoint = {e.at(0), e.at(1), e.at(2)};
  return c;
}

Watchdog Watchdog::start(const WatchdogConfig& config) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw RuntimeError(fmt::format("watchdog: pipe: {}", std::strerror(errno)));
  util::ProcessSpec spec;
  spec.argv = {"/proc/self/exe", "__watchdog"};
  spec.stdin_fd = fds[0];
  spec.new_session = true;  // Ctrl-C on pgshift's terminal must not reach it
  util::Child child = util::spawn(spec);
  close(fds[0]);
  Watchdog w(fds[1], child.pid());
  std::string line = config.to_json().dump() + "\n";
  if (write(fds[1], line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    throw RuntimeError("watchdog: could not hand over its configuration");
  }
  spdlog::debug("watchdog started (pid {})", child.pid());
  return w;
}

void Watchdog::tell(const std::string& state) {
  if (fd_ < 0) return;
  std::string line = state + "\n";
  (void)!write(fd_, line.data(), line.size());
}

void Watchdog::release() {
  tell("done");
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Watchdog::~Watchdog() {
  if (fd_ >= 0) close(fd_);  // without "done": the watchdog acts
}

int run_watchdog() {
  std::string line;
  if (!std::getline(std::cin, line)) return 0;
  WatchdogConfig config = WatchdogConfig::from_json(nlohmann::json::parse(line));
  std::string state = "armed";
  while (std::getline(std::cin, line)) {
    if (line == "done") return 0;
    state = line;
  }
  // The pipe closed without "done": pgshift is gone.
  spdlog::warn("watchdog: pgshift ended during the {} (last state: {}); putting traffic back on a consistent side",
               config.action, state);
  nlohmann::json acted = nlohmann::json::array();
  std::string side = "old writer";
  try {
    if (config.pooler_admin) {
      PoolerAdmin admin(*config.pooler_admin);
      std::optional<PoolerDatabase> db = admin.database(config.pooler_db);
      bool switched = db && db->endpoint == config.new_endpoint;
      if (switched) {
        side = "new writer";
        acted.push_back(lift_fence(config.replica, "new writer"));
      } else {
        if (!config.pooler_config_backup.empty() && access(config.pooler_config_backup.c_str(), R_OK) == 0) {
          std::string original = read_config_file(config.pooler_config_backup);
          if (read_config_file(config.pooler_config) != original) {
            write_config_file(config.pooler_config, original);
            acted.push_back("restored the pooler config from its backup");
          }
        }
        acted.push_back(lift_fence(config.writer, "old writer"));
      }
      admin.resume(config.pooler_db);
      acted.push_back(fmt::format("resumed pooler database {}", config.pooler_db));
    } else if (state != "switching" && state != "switched") {
      acted.push_back(lift_fence(config.writer, "old writer"));
    } else {
      acted.push_back("the switch command had started: left as is for pgshift cutover --resume");
    }
  } catch (const std::exception& e) {
    spdlog::error("watchdog: {}", e.what());
    acted.push_back(std::string("failed: ") + e.what());
  }
  for (const auto& a : acted) spdlog::warn("watchdog: {}", a.get<std::string>());
  try {
    pg::Connection conn = pg::Connection::open(config.journal, quick("target"));
    state::Journal journal(conn, config.action + " watchdog");
    journal.record(config.migration_id, "watchdog", state::EventStatus::info,
                   {{"pgshift_ended_at_state", state}, {"traffic_on", side}, {"actions", acted}});
  } catch (const std::exception& e) {
    spdlog::error("watchdog: could not journal: {}", e.what());
  }
  return 0;
}

}  // namespace pgshift::cutover
