#include "replication/snapshot_keeper.hpp"

#include <fcntl.h>
#include <libpq-fe.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <nlohmann/json.hpp>

#include "pg/error.hpp"
#include "pg/quote.hpp"
#include "util/error.hpp"
#include "util/process.hpp"

namespace pgshift::replication {
namespace {

using nlohmann::json;

std::string application_name(const std::string& slot) { return "pgshift snapshot " + slot; }

// One '\n'-terminated line from fd (without the newline); nullopt at end of file first.
std::optional<std::string> read_line(int fd) {
  std::string line;
  char c;
  while (true) {
    ssize_t n = read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return line.empty() ? std::nullopt : std::optional<std::string>(line);
    if (c == '\n') return line;
    line += c;
  }
}

void write_line(int fd, const std::string& text) {
  std::string line = text + "\n";
  (void)!write(fd, line.data(), line.size());
}

}  // namespace

std::pair<SnapshotKeeper, json> SnapshotKeeper::spawn(const pg::ConnInfo& publisher, json config) {
  const std::string slot = config.at("slot");
  int in[2], out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    throw RuntimeError(fmt::format("snapshot keeper: pipe: {}", std::strerror(errno)));
  }
  util::ProcessSpec spec;
  spec.argv = {"/proc/self/exe", "__snapshot-keeper"};
  spec.stdin_fd = in[0];
  spec.stdout_fd = out[1];
  // Its stderr must not be ours: a caller reading our output to its end (a pipe, `| tee`) would
  // wait for the keeper's grace period.
  spec.output_file = "/dev/null";
  spec.new_session = true;  // Ctrl-C on pgshift's terminal must not end the snapshot with it
  util::Child child = util::spawn(spec);
  close(in[0]);
  close(out[1]);
  SnapshotKeeper keeper(in[1], child.pid());
  config["conninfo"] = publisher.to_conninfo();
  config["connect_timeout_ms"] = pg::default_connect_options().connect_timeout.count();
  write_line(in[1], config.dump());
  std::optional<std::string> reply = read_line(out[0]);
  close(out[0]);
  if (!reply) {
    child.wait_for(util::Millis(5000));
    throw RuntimeError(fmt::format("{}: the snapshot keeper of slot {} ended before replying", publisher.redacted(), slot));
  }
  json doc = json::parse(*reply, nullptr, false);
  if (doc.is_discarded() || doc.contains("error")) {
    child.wait_for(util::Millis(5000));
    throw RuntimeError(doc.is_discarded() ? fmt::format("snapshot keeper: unreadable reply for slot {}", slot)
                                          : doc.at("error").get<std::string>());
  }
  if (doc.contains("gone")) child.wait_for(util::Millis(5000));
  return {std::move(keeper), std::move(doc)};
}

SnapshotKeeper SnapshotKeeper::start(const pg::ConnInfo& publisher, const std::string& slot, util::Millis grace) {
  auto [keeper, doc] = spawn(publisher, {{"slot", slot}, {"grace_ms", grace.count()}});
  keeper.slot_.slot = doc.at("slot");
  keeper.slot_.consistent_point = pg::Lsn::parse_or_throw(doc.at("lsn").get<std::string>(), "consistent_point");
  keeper.slot_.snapshot = doc.at("snapshot");
  keeper.backend_pid_ = doc.at("backend_pid");
  return std::move(keeper);
}

std::optional<SnapshotKeeper> SnapshotKeeper::adopt(const pg::ConnInfo& publisher, const std::string& slot,
                                                    const std::string& snapshot, util::Millis grace) {
  auto [keeper, doc] = spawn(publisher, {{"slot", slot}, {"grace_ms", grace.count()}, {"adopt", snapshot}});
  if (doc.contains("gone")) return std::nullopt;  // the keeper has exited (reaped by spawn)
  keeper.slot_.slot = slot;
  keeper.slot_.snapshot = doc.at("snapshot");
  keeper.backend_pid_ = doc.at("backend_pid");
  return std::optional<SnapshotKeeper>(std::move(keeper));
}

SnapshotKeeper::SnapshotKeeper(SnapshotKeeper&& other) noexcept
    : fd_(other.fd_), pid_(other.pid_), backend_pid_(other.backend_pid_), slot_(std::move(other.slot_)) {
  other.fd_ = -1;
  other.pid_ = -1;
}

void SnapshotKeeper::release() {
  if (fd_ < 0) return;
  write_line(fd_, "release");
  close(fd_);
  fd_ = -1;
  // Reap it (it exits at once); a keeper that does not is left to its grace period.
  util::Child child(pid_);
  child.wait_for(util::Millis(5000));
}

SnapshotKeeper::~SnapshotKeeper() {
  if (fd_ >= 0) close(fd_);
}

int end_keepers(pg::Connection& publisher, const std::string& slot, int keep_backend_pid) {
  pg::Result r = publisher.exec(
      "SELECT pg_terminate_backend(pid) AS ended FROM pg_stat_activity "
      "WHERE application_name = left($1, 63) AND pid <> $2 AND pid <> pg_backend_pid()",
      {application_name(slot), keep_backend_pid});
  int ended = 0;
  for (int i = 0; i < r.rows(); ++i) ended += r.row(i).boolean("ended") ? 1 : 0;
  return ended;
}

namespace {

// What a keeper holds: the replication connection whose exported snapshot it keeps (a new slot),
// or a plain connection in the transaction that re-exported a recorded snapshot (adopted).
struct Held {
  std::optional<pg::ReplicationConnection> replication;
  std::optional<pg::Connection> plain;
  int socket() const { return replication ? replication->socket() : PQsocket(plain->raw()); }
  bool still_open() {
    if (replication) return replication->still_open();
    return PQconsumeInput(plain->raw()) == 1 && PQstatus(plain->raw()) == CONNECTION_OK;
  }
};

// Creates the slot (or adopts the snapshot) and says what it holds on stdout, one JSON line.
// Returns false when there is nothing to hold (an error, or the snapshot to adopt is gone).
bool take_hold(const json& config, Held& held) {
  std::string slot = config.at("slot");
  try {
    pg::ConnectOptions options = pg::default_connect_options();
    options.connect_timeout = util::Millis(config.value("connect_timeout_ms", 10'000));
    pg::set_default_connect_options(options);
    pg::ConnInfo info = pg::ConnInfo::parse(config.at("conninfo").get<std::string>(), "snapshot keeper");
    if (config.contains("adopt")) {
      options.application_name = application_name(slot);
      options.role = "source";
      held.plain = pg::Connection::open(info, options);
      held.plain->exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      try {
        held.plain->exec("SET TRANSACTION SNAPSHOT " + pg::quote_literal(config.at("adopt").get<std::string>()));
      } catch (const pg::SqlError&) {
        write_line(STDOUT_FILENO, json{{"gone", true}}.dump());
        return false;
      }
      std::string name = held.plain->exec("SELECT pg_export_snapshot() AS name").row(0).text("name");
      write_line(STDOUT_FILENO, json{{"snapshot", name}, {"backend_pid", PQbackendPID(held.plain->raw())}}.dump());
      return true;
    }
    held.replication = pg::ReplicationConnection::open(info, "source", application_name(slot));
    pg::ExportedSlot made = held.replication->create_logical_slot_exporting(slot);
    write_line(STDOUT_FILENO, json{{"slot", made.slot},
                                   {"lsn", made.consistent_point.to_string()},
                                   {"snapshot", made.snapshot},
                                   {"backend_pid", held.replication->backend_pid()}}
                                  .dump());
    return true;
  } catch (const std::exception& e) {
    write_line(STDOUT_FILENO, json{{"error", e.what()}}.dump());
    return false;
  }
}

}  // namespace

int run_snapshot_keeper() {
  signal(SIGPIPE, SIG_IGN);
  std::optional<std::string> line = read_line(STDIN_FILENO);
  if (!line) return 2;
  json config = json::parse(*line);
  Held held;
  if (!take_hold(config, held)) return 3;
  close(STDOUT_FILENO);
  const auto grace = std::chrono::milliseconds(config.value("grace_ms", 600'000));
  std::optional<std::chrono::steady_clock::time_point> deadline;  // set once the parent is gone
  std::string pending;
  while (true) {
    pollfd fds[2] = {{held.socket(), POLLIN, 0}, {deadline ? -1 : STDIN_FILENO, POLLIN, 0}};
    int timeout = -1;
    if (deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return 0;
      timeout = static_cast<int>(left.count());
    }
    int n = poll(fds, 2, timeout);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return 3;
    if (fds[0].revents && !held.still_open()) return 0;  // terminated by an adopting run, or the server went
    if (fds[1].revents) {
      char buf[64];
      ssize_t got = read(STDIN_FILENO, buf, sizeof buf);
      if (got <= 0) {
        deadline = std::chrono::steady_clock::now() + grace;  // pgshift is gone: wait for it to come back
        continue;
      }
      pending.append(buf, static_cast<size_t>(got));
      if (pending.find("release") != std::string::npos) return 0;
    }
  }
}

}  // namespace pgshift::replication
