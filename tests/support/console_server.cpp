// ServerProcess; see support/console_server.hpp.
#include "support/console_server.hpp"

#include <csignal>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "localpg/cluster.hpp"

namespace pgshift::testing {

ServerProcess ServerProcess::start(const std::vector<std::string>& args, const std::map<std::string, std::string>& env) {
  std::vector<std::string> argv{PGSHIFT_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  return start_command(argv, env);
}

ServerProcess ServerProcess::start_command(const std::vector<std::string>& argv,
                                           const std::map<std::string, std::string>& env) {
  ServerProcess s;
  static int counter = 0;
  s.log_ = fmt::format("/tmp/pgshift-server-{}-{}.log", getpid(), ++counter);
  std::remove(s.log_.c_str());
  util::ProcessSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.env["NO_COLOR"] = "1";
  for (const char* v : {"PGSHIFT_DB_URL", "PGPASSWORD", "PGHOST", "PGPORT"}) {
    if (!env.count(v)) spec.unset_env.emplace_back(v);
  }
  spec.output_file = s.log_;
  spec.parent_death_signal = SIGKILL;
  s.child_ = util::spawn(spec);
  static const std::regex kListening(R"((?:listening on|serving Streamable HTTP at) http://[^:/]+:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string out = s.output();
    if (std::regex_search(out, m, kListening)) {
      s.port_ = std::stoi(m[1]);
      return s;
    }
    if (!s.child_.running()) {
      throw std::runtime_error(fmt::format("{} {} exited with {} before listening:\n{}", argv.front(),
                                           argv.size() > 1 ? argv[1] : "", s.child_.exit_code().value_or(-1), out));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  s.child_.signal(SIGKILL);
  throw std::runtime_error("pgshift did not report a listening address within 30 s:\n" + s.output());
}

ServerProcess::~ServerProcess() {
  if (child_.pid() > 0 && child_.running()) {
    child_.signal(SIGKILL);
    child_.wait();
  }
  if (!log_.empty()) std::remove(log_.c_str());
}

std::string ServerProcess::output() const {
  std::ifstream in(log_);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<int> ServerProcess::terminate(util::Millis timeout) {
  child_.signal(SIGTERM);
  return child_.wait_for(timeout);
}

}  // namespace pgshift::testing
