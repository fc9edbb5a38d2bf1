// Running the backup tools (pg_verifybackup, pgbackrest, barman-cloud-*, kubectl, tar, cp): one
// place that builds their command lines from the options, runs them with a deadline, and turns
// a failure into a one-line RuntimeError naming the tool and its first error line.
//
// Tools that read or write a server's files (restores, pgbackrest) run as the server's OS user
// (localpg::server_user(), the `postgres` user when we are root). run_watched() additionally
// stops the child when the process is interrupted (SIGINT/SIGTERM) or a deadline passes.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "backup/inventory.hpp"
#include "util/process.hpp"

namespace pgshift::backup {

// A parsed SOURCE: kind "dir", "pgbackrest", "barman-cloud" or "cnpg", and what follows the colon.
struct SourceSpec {
  std::string text;
  std::string kind;
  std::string value;
  // barman-cloud: the object-store URL without the server name, and the server name.
  std::string barman_url, barman_server;
  // cnpg: namespace and cluster name.
  std::string ns, cluster;
};
SourceSpec parse_source(const std::string& text);  // UsageError when malformed

util::ProcessSpec tool_spec(std::vector<std::string> argv, bool as_server_user);

// Runs to completion; throws RuntimeError("<what> failed (exit N): <first error line>") unless
// the exit code is 0 (or allow_failure).
util::RunResult run_tool(const util::ProcessSpec& spec, const std::string& what, util::Millis timeout,
                         bool allow_failure = false);

// Like run_tool, with output to log_file (stdout to spec.stdout_fd when set), in a process group
// of its own that is killed whole when we are interrupted, reach the deadline or die (even by
// SIGKILL: a guard shell gets a parent-death signal); throws RuntimeError saying which. Returns
// the exit code: 0, or any code when allow_failure (else RuntimeError).
int run_watched(const util::ProcessSpec& spec, const std::string& what, const std::string& log_file,
                std::chrono::steady_clock::time_point deadline, bool allow_failure = false);

// The whole text of a tool's output file; "" when it cannot be read.
std::string read_log(const std::string& path);

// The first line of text that looks like an error ("ERROR", "FATAL", "error:"), else its last
// non-empty line; at most 300 characters.
std::string first_error_line(const std::string& text);

// argv pieces for each tool, from the options.
std::vector<std::string> pgbackrest_argv(const InventoryOptions& o, const std::string& stanza);
std::vector<std::string> barman_argv(const InventoryOptions& o, const std::string& tool);

// Shell-quotes one word for restore_command and messages ('...' with ' escaped).
std::string shell_quote(const std::string& word);

}  // namespace pgshift::backup
