// `pgshift console` (or another server command) as a user starts it: the real binary in the
// background, its output in a file, the port it reports ("listening on http://HOST:PORT", or `mcp
// --http`'s "serving Streamable HTTP at http://HOST:PORT/mcp"), and
// SIGTERM to stop it. The process dies with the test (parent-death signal).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/process.hpp"

namespace pgshift::testing {

class ServerProcess {
 public:
  // Starts build/pgshift with args (e.g. {"console", "--db", url, "--listen", "127.0.0.1:0"}) and
  // waits for the "listening on" line; fails the test (throws) with the output when it exits first.
  static ServerProcess start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env = {});
  // The same for a command that runs pgshift another way (e.g. `podman run IMAGE console ...`):
  // argv is the whole command line.
  static ServerProcess start_command(const std::vector<std::string>& argv,
                                     const std::map<std::string, std::string>& env = {});
  ServerProcess(ServerProcess&&) = default;
  ~ServerProcess();

  int port() const { return port_; }
  std::string output() const;       // stdout + stderr so far
  int pid() const { return child_.pid(); }
  // SIGTERM, then waits; the exit code (nullopt when it did not exit within the timeout).
  std::optional<int> terminate(util::Millis timeout = util::Millis(20'000));

 private:
  ServerProcess() = default;
  util::Child child_;
  std::string log_;
  int port_ = 0;
};

}  // namespace pgshift::testing
