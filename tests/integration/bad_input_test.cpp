// Bad connection input, as a user meets it through `pgshift check`: one line naming the
// redacted endpoint and the cause, exit 3, within the connect timeout, no password anywhere.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <optional>
#include <chrono>
#include <thread>

#include "support/support.hpp"
#include "util/process.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

// A TCP listener on 127.0.0.1 that is not PostgreSQL: it either says nothing (a black hole) or
// answers like a web server.
class FakeServer {
 public:
  explicit FakeServer(bool speak_http) : speak_http_(speak_http) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen(fd_, 16);
    thread_ = std::thread([this] {
      while (!stop_) {
        int client = accept(fd_, nullptr, nullptr);
        if (client < 0) break;
        if (speak_http_) {
          const char reply[] = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
          (void)!write(client, reply, sizeof reply - 1);
          close(client);
        } else {
          held_.push_back(client);  // never answer
        }
      }
    });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
    for (int c : held_) close(c);
  }
  int port() const { return port_; }

 private:
  bool speak_http_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::vector<int> held_;
  std::thread thread_;
};

class BadInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = start_cluster("badinput").release(); }
  static void TearDownTestSuite() { delete cluster_; }

  // Runs check with a broken source and a good target; returns the run and its duration.
  static std::pair<CliRun, double> check_source(const std::string& source_url,
                                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"check", "--source", source_url, "--target", cluster_->url()};
    args.insert(args.end(), extra.begin(), extra.end());
    auto start = std::chrono::steady_clock::now();
    CliRun run = run_pgshift(args);
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return {run, seconds};
  }

  static void expect_one_line_error(const CliRun& run, const std::string& endpoint, const std::string& cause) {
    EXPECT_EQ(run.exit_code, 3) << run.all();
    EXPECT_TRUE(run.out.empty()) << run.out;
    EXPECT_EQ(line_count(run.err), 1u) << run.err;
    EXPECT_NE(run.err.find(endpoint), std::string::npos) << run.err;
    EXPECT_NE(run.err.find(cause), std::string::npos) << run.err;
    expect_no_password(run.all());
  }

  static LocalCluster* cluster_;
};

LocalCluster* BadInputTest::cluster_ = nullptr;

TEST_F(BadInputTest, NothingListening) {
  int port = localpg::free_port();
  auto [run, secs] = check_source(fmt::format("postgresql://postgres:{}@127.0.0.1:{}/app", localpg::kLocalPassword, port));
  expect_one_line_error(run, fmt::format("source postgres@127.0.0.1:{}/app", port), "Connection refused");
  EXPECT_LT(secs, 5.0);
}

TEST_F(BadInputTest, WrongPassword) {
  std::string url = fmt::format("postgresql://postgres:wrong-pw-4242@127.0.0.1:{}/postgres", cluster_->port());
  auto [run, secs] = check_source(url);
  expect_one_line_error(run, fmt::format("source postgres@127.0.0.1:{}/postgres", cluster_->port()),
                        "password authentication failed");
  EXPECT_EQ(run.all().find("wrong-pw-4242"), std::string::npos) << run.all();
}

TEST_F(BadInputTest, MissingDatabase) {
  auto [run, secs] = check_source(cluster_->url("no_such_db"));
  expect_one_line_error(run, "/no_such_db", "database \"no_such_db\" does not exist");
}

TEST_F(BadInputTest, PortThatIsNotPostgres) {
  FakeServer http(true);
  auto [run, secs] = check_source(fmt::format("postgresql://postgres:{}@127.0.0.1:{}/app", localpg::kLocalPassword, http.port()));
  expect_one_line_error(run, fmt::format("127.0.0.1:{}/app", http.port()), "cannot connect to source");
  EXPECT_LT(secs, 5.0);
}

TEST_F(BadInputTest, SilentHostTimesOutWithinTheConnectTimeout) {
  FakeServer blackhole(false);
  auto [run, secs] = check_source(
      fmt::format("postgresql://postgres:{}@127.0.0.1:{}/app", localpg::kLocalPassword, blackhole.port()),
      {"--connect-timeout", "1500ms"});
  expect_one_line_error(run, fmt::format("127.0.0.1:{}/app", blackhole.port()), "no answer within 1.5s");
  EXPECT_GE(secs, 1.4);
  EXPECT_LT(secs, 4.0);
}

TEST_F(BadInputTest, BrokenTargetIsNamedAsTarget) {
  int port = localpg::free_port();
  CliRun run = run_pgshift({"check", "--source", cluster_->url(), "--target",
                            fmt::format("host=127.0.0.1 port={} user=app password=kv-secret-77 dbname=t", port)});
  expect_one_line_error(run, fmt::format("target app@127.0.0.1:{}/t", port), "Connection refused");
  EXPECT_EQ(run.all().find("kv-secret-77"), std::string::npos);
}

TEST_F(BadInputTest, UsageErrorsExitTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{"check", "--source", cluster_->url()}, "no target database"},
      {{"check", "--source", "postgresql://u:leak-me-99@h:notaport/db", "--target", cluster_->url()}, "--source"},
      {{"check", "--connect-timeout", "soon", "--source", cluster_->url(), "--target", cluster_->url()},
       "--connect-timeout"},
      {{"check", "--no-such-flag"}, "no-such-flag"},
      {{"check", "-c", "/nonexistent/plan.yaml"}, "no such file"},
      {{}, "subcommand"},
  };
  for (const auto& c : cases) {
    CliRun run = run_pgshift(c.args);
    EXPECT_EQ(run.exit_code, 2) << run.all();
    EXPECT_NE(run.err.find(c.says), std::string::npos) << run.err;
    EXPECT_EQ(run.all().find("leak-me-99"), std::string::npos) << run.all();
    expect_no_password(run.all());
  }
}

// A command runs for minutes (sync soak, status --watch) with its URLs on the command line;
// `ps` must not show their passwords meanwhile.
TEST_F(BadInputTest, PasswordsAreHiddenFromProcessListings) {
  FakeServer blackhole(false);
  util::ProcessSpec spec;
  spec.argv = {PGSHIFT_BINARY, "check", "--connect-timeout", "3s", "--source",
               fmt::format("postgresql://postgres:url-pw-5150@127.0.0.1:{}/app", blackhole.port()),
               fmt::format("--target=host=127.0.0.1 port={} password='kv pw-5150'", blackhole.port())};
  spec.output_file = cluster_->directory() + "/ps-check.log";
  util::Child child = util::spawn(spec);
  // Until exec the child shows this test's command line; pgshift hides the passwords first thing.
  const std::string hidden = fmt::format("postgres:***********@127.0.0.1:{}/app", blackhole.port());
  std::string cmdline;
  auto hidden_in_cmdline = [&] {
    std::ifstream in(fmt::format("/proc/{}/cmdline", child.pid()), std::ios::binary);
    cmdline.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    return cmdline.find(hidden) != std::string::npos;
  };
  EXPECT_TRUE(wait_until(hidden_in_cmdline, util::Millis(2000))) << cmdline;
  EXPECT_EQ(cmdline.find("pw-5150"), std::string::npos) << cmdline;
  EXPECT_NE(cmdline.find("password='**********'"), std::string::npos) << cmdline;
  EXPECT_EQ(child.wait_for(util::Millis(10'000)), std::optional<int>(3));
}

TEST_F(BadInputTest, SourceFromEnvironment) {
  int port = localpg::free_port();
  CliRun run = run_pgshift({"check"}, {{"PGSHIFT_SOURCE_URL", fmt::format("postgresql://e:env-pw-31@127.0.0.1:{}/x", port)},
                                       {"PGSHIFT_TARGET_URL", cluster_->url()}});
  expect_one_line_error(run, fmt::format("source e@127.0.0.1:{}/x", port), "refused");
  EXPECT_EQ(run.all().find("env-pw-31"), std::string::npos);
}

}  // namespace
