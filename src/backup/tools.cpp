#include "backup/tools.hpp"

#include <signal.h>

#include <fmt/format.h>

#include <fstream>
#include <sstream>

#include "localpg/cluster.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace pgshift::backup {

SourceSpec parse_source(const std::string& text) {
  SourceSpec s;
  s.text = text;
  size_t colon = text.find(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 >= text.size()) {
    throw UsageError(fmt::format("--from {}: expected dir:PATH, pgbackrest:STANZA, barman-cloud:URL or "
                                 "cnpg:NAMESPACE/CLUSTER", text));
  }
  s.kind = text.substr(0, colon);
  s.value = text.substr(colon + 1);
  if (s.kind == "barman-cloud") {
    std::string url = s.value;
    while (!url.empty() && url.back() == '/') url.pop_back();
    size_t slash = url.rfind('/');
    size_t scheme = url.find("://");
    if (scheme == std::string::npos || slash == std::string::npos || slash <= scheme + 3 ||
        url.find('/', scheme + 3) == slash) {
      throw UsageError(fmt::format("--from {}: expected barman-cloud:SCHEME://BUCKET[/PATH]/SERVER_NAME", text));
    }
    s.barman_url = url.substr(0, slash);
    s.barman_server = url.substr(slash + 1);
  } else if (s.kind == "cnpg") {
    size_t slash = s.value.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 >= s.value.size()) {
      throw UsageError(fmt::format("--from {}: expected cnpg:NAMESPACE/CLUSTER", text));
    }
    s.ns = s.value.substr(0, slash);
    s.cluster = s.value.substr(slash + 1);
  } else if (s.kind != "dir" && s.kind != "pgbackrest") {
    throw UsageError(fmt::format("--from {}: unknown source kind '{}' (dir, pgbackrest, barman-cloud, cnpg)", text, s.kind));
  }
  return s;
}

util::ProcessSpec tool_spec(std::vector<std::string> argv, bool as_server_user) {
  util::ProcessSpec spec;
  spec.argv = std::move(argv);
  if (as_server_user) {
    localpg::ServerUser user = localpg::server_user();
    if (user.drop) {
      spec.uid = user.uid;
      spec.gid = user.gid;
      spec.cwd = "/tmp";  // the postgres user may not be able to enter our working directory
    }
  }
  spec.unset_env = {"PGDATA", "PGPORT", "PGHOST", "PGUSER", "PGDATABASE", "PGPASSWORD"};
  return spec;
}

std::string read_log(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string first_error_line(const std::string& text) {
  std::istringstream in(text);
  std::string line, last;
  while (std::getline(in, line)) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (line.find("ERROR") != std::string::npos || line.find("FATAL") != std::string::npos ||
        line.find("PANIC") != std::string::npos || line.find("error:") != std::string::npos ||
        line.find("Error") != std::string::npos) {
      last = line;
      break;
    }
    last = line;
  }
  size_t start = last.find_first_not_of(" \t");
  last = start == std::string::npos ? "" : last.substr(start);
  return last.size() > 300 ? last.substr(0, 300) + "..." : last;
}

util::RunResult run_tool(const util::ProcessSpec& spec, const std::string& what, util::Millis timeout,
                         bool allow_failure) {
  util::RunResult r;
  try {
    r = util::run(spec, timeout);
  } catch (const Error& e) {
    throw RuntimeError(fmt::format("{}: {}", what, e.what()));
  }
  if (r.exit_code == 127) throw RuntimeError(fmt::format("{}: {} is not installed (not found in PATH)", what, spec.argv[0]));
  if (r.timed_out) throw RuntimeError(fmt::format("{} did not finish within {}", what, util::format_duration(timeout)));
  if (r.exit_code != 0 && !allow_failure) {
    throw RuntimeError(fmt::format("{} failed (exit {}): {}", what, r.exit_code, first_error_line(r.err + "\n" + r.out)));
  }
  return r;
}

int run_watched(const util::ProcessSpec& given, const std::string& what, const std::string& log_file,
                std::chrono::steady_clock::time_point deadline, bool allow_failure) {
  // The tool runs under a guard shell leading a process group of its own: on SIGTERM (ours, or
  // its parent-death signal when we are killed, even with -9) the guard kills the whole group,
  // so helpers the tool started (pgbackrest's restore:local workers) do not outlive the drill.
  util::ProcessSpec spec = given;
  spec.argv = {"/bin/sh", "-c", "trap 'kill -KILL 0' TERM; \"$@\" & wait $!", "pgshift-guard"};
  spec.argv.insert(spec.argv.end(), given.argv.begin(), given.argv.end());
  spec.output_file = log_file;
  spec.parent_death_signal = SIGTERM;
  spec.new_session = true;
  util::Child child = util::spawn(spec);
  auto stop = [&child](const std::string& why) {
    child.signal(SIGTERM);
    if (!child.wait_for(util::Millis(2000))) child.signal(SIGKILL);
    ::kill(-child.pid(), SIGKILL);  // the group, whatever the guard managed
    child.wait();
    return why;
  };
  while (true) {
    if (auto code = child.wait_for(util::Millis(100))) {
      if (*code == 0) return 0;
      if (*code == 127) throw RuntimeError(fmt::format("{}: {} is not installed", what, given.argv[0]));
      if (allow_failure) return *code;
      throw RuntimeError(fmt::format("{} failed (exit {}): {}", what, *code, first_error_line(read_log(log_file))));
    }
    if (util::interrupted()) throw RuntimeError(stop(fmt::format("interrupted (SIGINT/SIGTERM) during {}", what)));
    if (std::chrono::steady_clock::now() >= deadline) throw RuntimeError(stop(fmt::format("timed out during {}", what)));
  }
}

std::vector<std::string> pgbackrest_argv(const InventoryOptions& o, const std::string& stanza) {
  std::vector<std::string> argv = {"pgbackrest"};
  if (!o.pgbackrest_config.empty()) argv.push_back("--config=" + o.pgbackrest_config);
  argv.push_back("--stanza=" + stanza);
  return argv;
}

std::vector<std::string> barman_argv(const InventoryOptions& o, const std::string& tool) {
  std::vector<std::string> argv = {tool};
  std::string endpoint = o.s3_endpoint_url;
  if (endpoint.empty()) {
    if (const char* env = std::getenv("AWS_ENDPOINT_URL"); env && *env) endpoint = env;
  }
  if (!endpoint.empty()) argv.insert(argv.end(), {"--endpoint-url", endpoint});
  if (!o.aws_profile.empty()) argv.insert(argv.end(), {"-P", o.aws_profile});
  return argv;
}

std::string shell_quote(const std::string& word) {
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  return out + "'";
}

}  // namespace pgshift::backup
