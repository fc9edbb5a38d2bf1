// `pgshift demo --console`'s serving step on a real cluster: the read-only role it creates, the
// real `pgshift console` it starts (as that role, loopback, --auth none), and a clean stop.
// (The whole demo before it runs in `make demo`; it takes minutes, so it is not repeated here.)
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "demo/console_session.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

TEST(DemoConsole, ServesTheConsoleAsAReadOnlyRoleAndStopsCleanly) {
  auto cluster = start_cluster("demo_console");
  cluster->create_database("shop");
  pg::Connection admin = connect(*cluster, "shop");
  run_sql(admin, "CREATE TABLE orders (id bigint PRIMARY KEY, total numeric); INSERT INTO orders VALUES (1, 9.99)");

  int port = localpg::free_port();
  {
    demo::ConsoleSession console = demo::ConsoleSession::start(*cluster, "shop", port, PGSHIFT_BINARY);
    EXPECT_EQ(console.url(), "http://127.0.0.1:" + std::to_string(port) + "/");

    // The role is a reader: no superuser, no writes, member of the read roles only.
    pg::Result role = admin.exec(
        "SELECT r.rolsuper, r.rolcreaterole, r.rolcreatedb, r.rolreplication, "
        "       array_to_string(ARRAY(SELECT b.rolname FROM pg_auth_members m JOIN pg_roles b ON b.oid = m.roleid "
        "                             WHERE m.member = r.oid ORDER BY 1), ',') AS member_of "
        "FROM pg_roles r WHERE r.rolname = 'console_reader'");
    ASSERT_EQ(role.rows(), 1);
    EXPECT_EQ(role.row(0).text("rolsuper"), "f");
    EXPECT_EQ(role.row(0).text("rolcreaterole"), "f");
    EXPECT_EQ(role.row(0).text("rolreplication"), "f");
    EXPECT_EQ(role.row(0).text("member_of"), "pg_monitor,pg_read_all_data");

    HttpResponse page = http_get(port, "/tables/public/orders");
    EXPECT_EQ(page.status, 200) << page.body;
    EXPECT_NE(page.body.find("console_reader@127.0.0.1"), std::string::npos) << "the header names the reader role";
    EXPECT_NE(page.body.find("9.99"), std::string::npos);
    HttpResponse write = http_post_same_origin(port, "/api/sql", R"({"sql": "SELECT current_user"})");
    EXPECT_EQ(write.status, 200) << write.body;
    EXPECT_NE(write.body.find("console_reader"), std::string::npos) << write.body;
    expect_no_password(page.body + write.body);

    EXPECT_EQ(console.stop(), 0) << "SIGTERM shuts the console down cleanly";
    EXPECT_EQ(http_get(port, "/healthz").status, 0) << "nothing listens any more";
  }
  // A second session on the same cluster finds the role already there.
  demo::ConsoleSession again = demo::ConsoleSession::start(*cluster, "shop", port, PGSHIFT_BINARY);
  EXPECT_EQ(http_get(port, "/healthz").status, 200);
}
