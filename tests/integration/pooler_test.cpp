// PgBouncer admin operations against a real PgBouncer in transaction mode.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "cutover/pooler.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

class PoolerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    a_ = start_cluster("pooler-a").release();
    b_ = start_cluster("pooler-b").release();
    a_->create_database("app");
    b_->create_database("app");
    pg::Connection ca = connect(*a_, "app");
    ca.exec("CREATE TABLE whoami (side text)");
    ca.exec("INSERT INTO whoami VALUES ('a')");
    pg::Connection cb = connect(*b_, "app");
    cb.exec("CREATE TABLE whoami (side text)");
    cb.exec("INSERT INTO whoami VALUES ('b')");
  }
  static void TearDownTestSuite() {
    delete a_;
    delete b_;
  }
  static LocalCluster* a_;
  static LocalCluster* b_;
};

LocalCluster* PoolerTest::a_ = nullptr;
LocalCluster* PoolerTest::b_ = nullptr;

TEST_F(PoolerTest, PauseRewriteReloadResumeMovesClientsToTheOtherServer) {
  auto bouncer = LocalPgBouncer::start(*a_, {"app"});
  pg::Connection client = pg::Connection::open(pg::ConnInfo::parse(bouncer->url("app"), "client"));
  EXPECT_EQ(client.exec("SELECT side FROM whoami").scalar(), "a");

  cutover::PoolerAdmin admin(pg::ConnInfo::parse(bouncer->admin_url(), "--pooler-admin"));
  ASSERT_TRUE(admin.pause("app", util::Millis(5000)));
  EXPECT_TRUE(admin.database("app")->paused);

  // A query sent while paused waits instead of failing.
  std::string seen;
  std::thread waiting([&] { seen = client.exec("SELECT side FROM whoami").scalar(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_TRUE(seen.empty());

  cutover::rewrite_config_file(bouncer->config_path(), "app", {"127.0.0.1", std::to_string(b_->port()), "app"});
  admin.reload();
  EXPECT_EQ(admin.database("app")->endpoint.port, std::to_string(b_->port()));
  admin.resume("app");
  waiting.join();
  EXPECT_EQ(seen, "b") << "the paused query ran on the new server";
  EXPECT_FALSE(admin.database("app")->paused);
  admin.resume("app");  // resuming twice is harmless
}

TEST_F(PoolerTest, PauseGivesUpAndResumesWhenATransactionHoldsOn) {
  auto bouncer = LocalPgBouncer::start(*a_, {"app"});
  pg::Connection holder = pg::Connection::open(pg::ConnInfo::parse(bouncer->url("app"), "holder"));
  holder.exec("BEGIN");
  holder.exec("SELECT 1");
  cutover::PoolerAdmin admin(pg::ConnInfo::parse(bouncer->admin_url(), "--pooler-admin"));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(admin.pause("app", util::Millis(700)));
  double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_GE(s, 0.6);
  EXPECT_LT(s, 3.0);
  EXPECT_FALSE(admin.database("app")->paused) << "a pause that timed out is undone";
  holder.exec("COMMIT");
  pg::Connection other = pg::Connection::open(pg::ConnInfo::parse(bouncer->url("app"), "other"));
  EXPECT_EQ(other.exec("SELECT side FROM whoami").scalar(), "a");
}

}  // namespace
