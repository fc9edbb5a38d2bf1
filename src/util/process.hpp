// Child processes: spawn one (detached output to files or inherited), or run one to completion
// capturing stdout/stderr with a deadline. Used by the local cluster launcher, the cutover's
// --switch-command, the watchdog and the tests.
//
// Contract: argv[0] is looked up in PATH when it has no '/'. Everything the child needs is
// prepared before fork(), so spawning is safe from multi-threaded programs. A child started with
// parent_death_signal receives that signal when the *thread* that spawned it exits (Linux
// PR_SET_PDEATHSIG), which is how servers started by tests die with a crashed or killed test.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "util/duration.hpp"

namespace pgshift::util {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // set (or override) in the child's environment
  std::vector<std::string> unset_env;      // removed from the child's environment
  std::string cwd;                         // empty: inherit
  std::optional<uid_t> uid;                // drop to this user (and gid) before exec
  std::optional<gid_t> gid;
  int parent_death_signal = 0;             // 0: none
  std::string output_file;                 // spawn(): stdout+stderr appended here; empty: inherit
  int stdin_fd = -1;                       // spawn(): the child's stdin (e.g. a pipe's read end); -1: /dev/null
  int stdout_fd = -1;                      // spawn(): the child's stdout (a pipe's write end); -1: as above
  bool new_session = false;                // setsid(): detach from the terminal and our group
};

struct RunResult {
  int exit_code = -1;  // 128+N when killed by signal N
  bool timed_out = false;
  std::string out;
  std::string err;
};

// A started child. Not copyable; the destructor does not kill or reap (call wait or kill).
class Child {
 public:
  Child() = default;
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(Child&& other) noexcept : pid_(other.pid_) { other.pid_ = -1; }
  Child& operator=(Child&& other) noexcept;
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  bool running();                                  // reaps if it has exited
  std::optional<int> wait_for(Millis timeout);     // exit code, or nullopt on timeout
  int wait();                                      // blocks; exit code
  void signal(int sig) const;                      // no-op when not running
  std::optional<int> exit_code() const { return exit_code_; }

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
};

// Starts argv in the background.
Child spawn(const ProcessSpec& spec);

// Runs argv to completion, feeding stdin_data and capturing stdout/stderr. On timeout the child
// is killed (SIGKILL) and timed_out is set.
RunResult run(const ProcessSpec& spec, std::optional<Millis> timeout = std::nullopt,
              const std::string& stdin_data = {});

// Looks up a program in PATH; returns the name unchanged when it contains '/' or is not found.
std::string which(const std::string& program);

}  // namespace pgshift::util
