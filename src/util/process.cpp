#include "util/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include "util/error.hpp"

extern char** environ;

namespace pgshift::util {
namespace {

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// argv/envp arrays built before fork(): the child only calls async-signal-safe functions.
struct ExecImage {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> envs;
  std::vector<char*> argv;
  std::vector<char*> envp;

  explicit ExecImage(const ProcessSpec& spec) {
    if (spec.argv.empty()) throw RuntimeError("internal: empty argv for a child process");
    path = which(spec.argv[0]);
    args = spec.argv;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string_view kv(*e);
      std::string_view key = kv.substr(0, kv.find('='));
      bool drop = spec.env.count(std::string(key)) > 0;
      for (const auto& u : spec.unset_env) drop = drop || key == u;
      if (!drop) envs.emplace_back(kv);
    }
    for (const auto& [k, v] : spec.env) envs.push_back(k + "=" + v);
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    for (auto& e : envs) envp.push_back(e.data());
    envp.push_back(nullptr);
  }
};

// Runs in the child after fork(); never returns.
[[noreturn]] void exec_child(const ProcessSpec& spec, ExecImage& image, pid_t parent) {
  if (spec.new_session) setsid();
  if (spec.gid && setgid(*spec.gid) != 0) _exit(126);
  if (spec.uid && setuid(*spec.uid) != 0) _exit(126);
  if (spec.parent_death_signal != 0) {
    // Set after the credential change (which clears it), and check the parent did not die
    // before the setting took effect.
    prctl(PR_SET_PDEATHSIG, spec.parent_death_signal);
    if (getppid() != parent) _exit(125);
  }
  if (!spec.cwd.empty() && chdir(spec.cwd.c_str()) != 0) _exit(126);
  execve(image.path.c_str(), image.argv.data(), image.envp.data());
  _exit(127);
}

}  // namespace

std::string which(const std::string& program) {
  if (program.find('/') != std::string::npos) return program;
  const char* path = std::getenv("PATH");
  std::string_view dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    size_t colon = dirs.find(':');
    std::string dir(dirs.substr(0, colon));
    std::string candidate = (dir.empty() ? "." : dir) + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string_view::npos) break;
    dirs.remove_prefix(colon + 1);
  }
  return program;
}

Child& Child::operator=(Child&& other) noexcept {
  pid_ = other.pid_;
  exit_code_ = other.exit_code_;
  other.pid_ = -1;
  return *this;
}

bool Child::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = decode_status(status);
    return false;
  }
  return r == 0;
}

std::optional<int> Child::wait_for(Millis timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = Millis(2);
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, Millis(50));
  }
  return exit_code_;
}

int Child::wait() {
  if (exit_code_) return *exit_code_;
  if (pid_ <= 0) return -1;
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  exit_code_ = decode_status(status);
  return *exit_code_;
}

void Child::signal(int sig) const {
  if (pid_ > 0 && !exit_code_) ::kill(pid_, sig);
}

Child spawn(const ProcessSpec& spec) {
  ExecImage image(spec);
  int out_fd = -1;
  if (!spec.output_file.empty()) {
    out_fd = open(spec.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) {
      throw RuntimeError(fmt::format("cannot open {}: {}", spec.output_file, std::strerror(errno)));
    }
    if (spec.uid && fchown(out_fd, *spec.uid, spec.gid.value_or(static_cast<gid_t>(-1))) != 0) {
      // Ownership only matters for a server that reopens its log; keep going.
    }
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    int in = spec.stdin_fd >= 0 ? spec.stdin_fd : open("/dev/null", O_RDONLY);
    if (in >= 0) dup2(in, STDIN_FILENO);
    if (out_fd >= 0) {
      dup2(out_fd, STDOUT_FILENO);
      dup2(out_fd, STDERR_FILENO);
    }
    if (spec.stdout_fd >= 0) dup2(spec.stdout_fd, STDOUT_FILENO);
    exec_child(spec, image, parent);
  }
  if (out_fd >= 0) close(out_fd);
  return Child(pid);
}

RunResult run(const ProcessSpec& spec, std::optional<Millis> timeout, const std::string& stdin_data) {
  ExecImage image(spec);
  int in_pipe[2], out_pipe[2], err_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0 ||
      pipe2(err_pipe, O_CLOEXEC) != 0) {
    throw RuntimeError(fmt::format("pipe failed: {}", std::strerror(errno)));
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) throw RuntimeError(fmt::format("fork failed: {}", std::strerror(errno)));
  if (pid == 0) {
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(err_pipe[1], STDERR_FILENO);
    exec_child(spec, image, parent);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(err_pipe[1]);
  // Writing to a child that exited early must not kill us; ignoring SIGPIPE process-wide is
  // what libpq and servers do too (a closed socket or pipe becomes an EPIPE error).
  static const bool sigpipe_ignored = (::signal(SIGPIPE, SIG_IGN), true);
  (void)sigpipe_ignored;

  RunResult result;
  Child child(pid);
  size_t written = 0;
  int in_fd = in_pipe[1];
  if (stdin_data.empty()) {
    close(in_fd);
    in_fd = -1;
  } else {
    fcntl(in_fd, F_SETFL, O_NONBLOCK);
  }
  int fds[2] = {out_pipe[0], err_pipe[0]};
  std::string* sinks[2] = {&result.out, &result.err};
  auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                          : std::chrono::steady_clock::time_point::max();
  while (fds[0] >= 0 || fds[1] >= 0) {
    pollfd pfds[3];
    int n = 0;
    for (int fd : fds) {
      if (fd >= 0) pfds[n++] = {fd, POLLIN, 0};
    }
    if (in_fd >= 0) pfds[n++] = {in_fd, POLLOUT, 0};
    int wait_ms = 100;
    if (timeout) {
      auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        child.signal(SIGKILL);
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 100));
    }
    if (poll(pfds, n, wait_ms) < 0 && errno != EINTR) break;
    for (int i = 0; i < n; ++i) {
      if (pfds[i].revents == 0) continue;
      if (pfds[i].fd == in_fd) {
        ssize_t w = write(in_fd, stdin_data.data() + written, stdin_data.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == stdin_data.size()) {
          close(in_fd);
          in_fd = -1;
        }
        continue;
      }
      for (int k = 0; k < 2; ++k) {
        if (pfds[i].fd != fds[k]) continue;
        char buf[65536];
        ssize_t r = read(fds[k], buf, sizeof buf);
        if (r > 0) {
          sinks[k]->append(buf, static_cast<size_t>(r));
        } else if (r == 0 || errno != EINTR) {
          close(fds[k]);
          fds[k] = -1;
        }
      }
    }
  }
  for (int fd : fds) {
    if (fd >= 0) close(fd);
  }
  if (in_fd >= 0) close(in_fd);
  result.exit_code = child.wait();
  return result;
}

}  // namespace pgshift::util
