// ConsoleSession: the demo's read-only console on the target (demo/console_session.hpp).
#include "demo/console_session.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>

#include "pg/connection.hpp"
#include "pg/quote.hpp"
#include "util/error.hpp"
#include "util/interrupt.hpp"

namespace pgshift::demo {
namespace {

// pg_read_all_data (PostgreSQL 14+) reads every table, schema pgshift's journal included;
// pg_monitor reads the statistics views the diagnostics use. Nothing that writes or signals.
constexpr std::string_view kCreateReader = R"sql(
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'console_reader') THEN
    CREATE ROLE console_reader LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION;
  END IF;
END $$)sql";
constexpr std::string_view kGrantReader = "GRANT pg_read_all_data, pg_monitor TO console_reader";
constexpr int kDefaultPort = 8977;

bool port_free(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// GET /healthz answered "HTTP/1.x 200". A plain socket: the demo needs nothing more.
bool healthy(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    std::string request = fmt::format("GET /healthz HTTP/1.0\r\nHost: 127.0.0.1:{}\r\n\r\n", port);
    char buf[64] = {};
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      ssize_t n = ::recv(fd, buf, sizeof buf - 1, 0);
      std::string_view status(buf, n > 0 ? static_cast<size_t>(n) : 0);
      ok = status.size() >= 12 && status.starts_with("HTTP/1.") && status.substr(8, 4) == " 200";
    }
  }
  ::close(fd);
  return ok;
}

std::string tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  std::string text = s.str();
  return text.size() > 2000 ? text.substr(text.size() - 2000) : text;
}

}  // namespace

ConsoleSession ConsoleSession::start(const localpg::LocalCluster& target, const std::string& db, int port) {
  {
    pg::Connection admin = pg::Connection::open(target.conninfo(db), "demo target");
    admin.exec(kCreateReader);
    admin.exec(fmt::format("ALTER ROLE console_reader PASSWORD {}", pg::quote_literal(localpg::kLocalPassword)));
    admin.exec(kGrantReader);
  }
  if (port == 0) port = port_free(kDefaultPort) ? kDefaultPort : localpg::free_port();

  ConsoleSession s;
  s.dir_ = localpg::make_private_dir("console");
  s.log_ = s.dir_ + "/console.log";
  s.url_ = fmt::format("http://127.0.0.1:{}/", port);
  util::ProcessSpec spec;
  spec.argv = {"/proc/self/exe", "console", "--listen", fmt::format("127.0.0.1:{}", port), "--auth", "none",
               "--audit-log", s.dir_ + "/audit.jsonl"};
  spec.env = {{"PGSHIFT_DB_URL", target.url(db, std::string(kReaderRole))}, {"NO_COLOR", "1"}};
  spec.output_file = s.log_;
  spec.new_session = true;             // Ctrl+C goes to the demo, which stops the console in order
  spec.parent_death_signal = SIGTERM;  // and it never outlives a killed demo
  s.child_ = util::spawn(spec);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!healthy(port)) {
    if (!s.child_.running()) {
      s.stopped_ = true;
      throw RuntimeError(fmt::format("demo: pgshift console exited with {} before serving; its log ({}):\n{}",
                                     s.child_.exit_code().value_or(-1), s.log_, tail(s.log_)));
    }
    if (std::chrono::steady_clock::now() > deadline) {
      throw RuntimeError(fmt::format("demo: pgshift console did not answer on {} within 30 s; its log ({}):\n{}",
                                     s.url_, s.log_, tail(s.log_)));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return s;
}

int ConsoleSession::serve_until_interrupted() {
  util::install_interrupt_handler();
  while (!util::interrupted()) {
    if (!child_.running()) {
      stopped_ = true;
      exit_code_ = child_.exit_code().value_or(-1);
      return exit_code_;
    }
    util::sleep_unless_interrupted(util::Millis(250));
  }
  return -1;
}

int ConsoleSession::stop() {
  if (stopped_) return exit_code_;
  stopped_ = true;
  child_.signal(SIGTERM);
  std::optional<int> code = child_.wait_for(util::Millis(10'000));
  if (!code) {
    child_.signal(SIGKILL);
    code = child_.wait();
  }
  exit_code_ = *code;
  return exit_code_;
}

ConsoleSession::ConsoleSession(ConsoleSession&& other) noexcept
    : child_(std::move(other.child_)),
      url_(std::move(other.url_)),
      log_(std::move(other.log_)),
      dir_(std::exchange(other.dir_, {})),
      stopped_(other.stopped_),
      exit_code_(other.exit_code_) {
  other.stopped_ = true;
}

ConsoleSession::~ConsoleSession() {
  if (child_.pid() > 0) stop();
  if (!dir_.empty()) localpg::remove_tree(dir_);
}

}  // namespace pgshift::demo
