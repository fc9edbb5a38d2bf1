// The harness itself: clusters and PgBouncer start on free loopback ports, run as the right
// user, and die with their owner even when it is killed with SIGKILL.
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

bool accepts(int port) {
  std::string ping = fmt::format("host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=2", port);
  return PQping(ping.c_str()) == PQPING_OK;
}

TEST(LocalPg, ClusterIsLogicalAndRunsAsPostgresUser) {
  auto c = start_cluster("harness");
  pg::Connection conn = connect(*c);
  EXPECT_EQ(conn.exec("SHOW wal_level").scalar(), "logical");
  EXPECT_EQ(conn.exec("SELECT current_setting('listen_addresses')").scalar(), "127.0.0.1");
  if (geteuid() == 0) {
    std::string owner = conn.exec("SELECT pg_read_file('postmaster.pid', 0, 0) IS NOT NULL")
                            .scalar();  // readable by the server: it owns its data directory
    EXPECT_EQ(owner, "t");
  }
  std::string dir = c->directory();
  int port = c->port();
  c.reset();
  EXPECT_FALSE(std::filesystem::exists(dir)) << "directory removed on teardown";
  EXPECT_FALSE(accepts(port)) << "server stopped on teardown";
}

TEST(LocalPg, RestartAppliesSettings) {
  auto c = start_cluster("restart");
  c->restart({{"wal_level", "replica"}});
  pg::Connection conn = connect(*c);
  EXPECT_EQ(conn.exec("SHOW wal_level").scalar(), "replica");
}

TEST(LocalPg, PgBouncerPoolsToTheCluster) {
  auto c = start_cluster("bouncer-backend");
  c->create_database("app");
  auto b = LocalPgBouncer::start(*c, {"app"});
  pg::Connection through = pg::Connection::open(pg::ConnInfo::parse(b->url("app"), "pooler"));
  EXPECT_EQ(through.exec("SELECT current_database()").scalar(), "app");
  pg::Connection admin = pg::Connection::open(pg::ConnInfo::parse(b->admin_url(), "admin"));
  pg::Result dbs = admin.exec_simple("SHOW DATABASES");
  bool found = false;
  for (int i = 0; i < dbs.rows(); ++i) found = found || dbs.row(i).text("name") == "app";
  EXPECT_TRUE(found);
}

TEST(LocalPg, ServerDiesWhenItsOwnerIsKilled) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    try {
      auto c = start_cluster("orphan");
      int port = c->port();
      (void)!write(fds[1], &port, sizeof port);
      pause();  // until killed
    } catch (...) {
    }
    _exit(1);
  }
  close(fds[1]);
  int port = 0;
  ASSERT_EQ(read(fds[0], &port, sizeof port), static_cast<ssize_t>(sizeof port));
  close(fds[0]);
  EXPECT_TRUE(accepts(port));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_TRUE(wait_until([&] { return !accepts(port); }, util::Millis(10'000)))
      << "postgres outlived its killed owner";
}

TEST(LocalPg, ParallelClustersGetDistinctPorts) {
  auto a = start_cluster("para-a");
  auto b = start_cluster("para-b");
  auto c = start_cluster("para-c");
  EXPECT_NE(a->port(), b->port());
  EXPECT_NE(b->port(), c->port());
  EXPECT_TRUE(accepts(a->port()) && accepts(b->port()) && accepts(c->port()));
}

}  // namespace
