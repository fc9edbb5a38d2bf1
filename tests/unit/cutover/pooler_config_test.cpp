#include "cutover/pooler_config.hpp"

#include <gtest/gtest.h>

#include "util/error.hpp"

using namespace pgshift::cutover;

namespace {

constexpr const char* kIni =
    "; app databases\n"
    "[databases]\n"
    "app = host=10.0.0.5 port=5432 dbname=app user=app pool_size=30\n"
    "\"other db\" = host=old port=6000 dbname='other db'\n"
    "* = host=fallback\n"
    "\n"
    "[pgbouncer]\n"
    "listen_port = 6432\n"
    "app = not a database entry\n";

}  // namespace

TEST(PoolerConfig, ReadsAnEntry) {
  auto e = read_database_entry(kIni, "app");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->port, "5432");
  EXPECT_EQ(e->dbname, "app");
  auto o = read_database_entry(kIni, "other db");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->dbname, "other db");
  EXPECT_FALSE(read_database_entry(kIni, "missing").has_value());
}

TEST(PoolerConfig, RewritesOnlyHostPortAndDbnameOfThatEntry) {
  std::string out = rewrite_database_entry(kIni, "app", {"pg-rw.db.svc", "5433", "app_new"});
  EXPECT_NE(out.find("app = host=pg-rw.db.svc port=5433 dbname=app_new user=app pool_size=30\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("\"other db\" = host=old port=6000 dbname='other db'\n"), std::string::npos);
  EXPECT_NE(out.find("app = not a database entry"), std::string::npos) << "[pgbouncer] keys untouched";
  EXPECT_NE(out.find("; app databases"), std::string::npos);
  auto back = read_database_entry(out, "app");
  EXPECT_EQ(back->display(), "pg-rw.db.svc:5433/app_new");
}

TEST(PoolerConfig, QuotesValuesWithSpaces) {
  std::string out = rewrite_database_entry(kIni, "other db", {"new", "1", "my db"});
  auto e = read_database_entry(out, "other db");
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->dbname, "my db");
}

TEST(PoolerConfig, MissingEntryIsAUsageError) {
  EXPECT_THROW(rewrite_database_entry(kIni, "nope", {"h", "1", "d"}), pgshift::UsageError);
}

TEST(PoolerConfig, ParsesRoutes) {
  PoolerEndpoint e = parse_pooler_endpoint("pg-rw.db.svc:5432/app", "--pooler-route");
  EXPECT_EQ(e.host, "pg-rw.db.svc");
  EXPECT_EQ(e.port, "5432");
  EXPECT_EQ(e.dbname, "app");
  for (const char* bad : {"host/app", "host:/app", ":5432/app", "host:54x2/app", "host:5432/", "host:5432"}) {
    EXPECT_THROW(parse_pooler_endpoint(bad, "--pooler-route"), pgshift::UsageError) << bad;
  }
}
