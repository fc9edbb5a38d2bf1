// `pgshift demo --console`: the read-only web console served on the demo's target database
// after the cutover, the way an operator would run it:
//   - a read-only role (kReaderRole: LOGIN, pg_read_all_data + pg_monitor, nothing else; the
//     console refuses superusers) is created on the target cluster;
//   - this pgshift binary runs `console --db <reader URL> --listen 127.0.0.1:PORT --auth none`
//     as a child in its own session (so Ctrl+C reaches the demo, which then stops the console
//     with SIGTERM, in order), its output in a log file; the URL travels in PGSHIFT_DB_URL,
//     never on the command line;
//   - start() returns once GET /healthz answers 200 (or throws with the log's tail);
//     serve_until_interrupted() waits for Ctrl+C / SIGTERM (or the console's own exit);
//     stop() (and the destructor) ends the console with SIGTERM, then SIGKILL after 10 s.
//     The role stays; the caller tears the cluster down.
#pragma once

#include <string>
#include <string_view>

#include "localpg/cluster.hpp"
#include "util/process.hpp"

namespace pgshift::demo {

inline constexpr std::string_view kReaderRole = "console_reader";

class ConsoleSession {
 public:
  // port 0: 8977 when free, else any free port.
  static ConsoleSession start(const localpg::LocalCluster& target, const std::string& db, int port = 0);
  ConsoleSession(ConsoleSession&& other) noexcept;
  ConsoleSession& operator=(ConsoleSession&&) = delete;
  ConsoleSession(const ConsoleSession&) = delete;
  ConsoleSession& operator=(const ConsoleSession&) = delete;
  ~ConsoleSession();

  const std::string& url() const { return url_; }        // http://127.0.0.1:PORT/
  const std::string& log_file() const { return log_; }

  // Blocks until SIGINT/SIGTERM or the console exits. Returns the console's exit code when it
  // exited by itself, -1 when interrupted.
  int serve_until_interrupted();
  // SIGTERM, wait (10 s), SIGKILL. Returns the exit code (0 for a clean shutdown). Idempotent.
  int stop();

 private:
  ConsoleSession() = default;
  util::Child child_;
  std::string url_;
  std::string log_;
  std::string dir_;
  bool stopped_ = false;
  int exit_code_ = 0;
};

}  // namespace pgshift::demo
