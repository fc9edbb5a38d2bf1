// Shared by the console_*_test files: one cluster with an "app" database (a few tables, a
// read-only role `reader` with pg_read_all_data + pg_monitor, as the README advises), and
// helpers to start `pgshift console` on it.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "support/console_server.hpp"
#include "support/http_client.hpp"
#include "support/support.hpp"

namespace pgshift::testing {

inline constexpr const char* kReaderPassword = "reader-secret-pw";

inline constexpr std::string_view kConsoleSchema = R"sql(
CREATE ROLE reader LOGIN PASSWORD 'reader-secret-pw';
GRANT pg_read_all_data, pg_monitor TO reader;
CREATE TABLE customers (id int PRIMARY KEY, name text, email text, note text, score numeric(6,2), deleted_at timestamptz, blob bytea);
INSERT INTO customers VALUES
  (1, 'Alice', 'alice@example.com', '', 10.5, NULL, '\x00112233445566778899aabbccddeeff'),
  (2, 'Bob', 'bob@example.com', NULL, 7, now(), NULL),
  (3, 'Carol O''Hara', 'carol@example.com', 'VIP customer', 99.99, NULL, '\xdeadbeef'),
  (4, 'Dmitri Łukasz', 'dmitri@example.com', 'unicode ☃', 1, NULL, NULL);
CREATE TABLE events (id bigint PRIMARY KEY, customer_id int REFERENCES customers, kind text, at timestamptz);
INSERT INTO events SELECT g, 1 + g % 4, CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END,
  timestamptz '2026-01-01' + g * interval '1 minute' FROM generate_series(1, 100000) g;
CREATE INDEX events_kind ON events (kind);
CREATE TABLE "Weird Name" ("select" int, "a""b" text);
INSERT INTO "Weird Name" VALUES (1, 'x');
VACUUM ANALYZE;
)sql";

inline std::string reader_url(const LocalCluster& cluster, const std::string& db = "app") {
  return fmt::format("postgresql://reader:{}@127.0.0.1:{}/{}", kReaderPassword, cluster.port(), db);
}

inline nlohmann::json json_of(const HttpResponse& r) {
  nlohmann::json j = nlohmann::json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON (status " << r.status << "): " << r.body.substr(0, 500);
  return j;
}

// A checksum of the app database's user tables: a refused request must leave it unchanged.
inline std::string app_checksum(pg::Connection& conn) {
  return conn.exec(R"sql(
SELECT md5(string_agg(t, '|' ORDER BY t)) FROM (
  SELECT format('%s.%s:%s', table_schema, table_name, column_name) AS t FROM information_schema.columns
  WHERE table_schema NOT IN ('pg_catalog', 'information_schema')
  UNION ALL SELECT 'customers:' || md5(string_agg(c::text, ',' ORDER BY id)) FROM customers c
  UNION ALL SELECT 'events:' || count(*)::text FROM events
  UNION ALL SELECT 'roles:' || string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles) x
)sql").scalar();
}

// A query string the console must refuse, and the parameter its 400 names.
struct RefusedQuery {
  std::string query;      // "?sort=..."
  std::string parameter;  // "sort"
};

// Each case is 400 on the API path (JSON naming the parameter, its message "parameter: ...")
// and on the page path, over real HTTP.
inline void expect_refused(int port, const std::string& api_path, const std::string& page_path,
                           const std::vector<RefusedQuery>& cases) {
  for (const auto& c : cases) {
    HttpResponse r = http_get(port, api_path + c.query);
    EXPECT_EQ(r.status, 400) << c.query << ": " << r.body;
    nlohmann::json j = json_of(r);
    EXPECT_EQ(j["error"]["parameter"], c.parameter) << c.query << ": " << r.body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(c.parameter + ":"), std::string::npos) << r.body;
    HttpResponse html = http_get(port, page_path + c.query);
    EXPECT_EQ(html.status, 400) << c.query;
    EXPECT_NE(html.body.find(c.parameter + ":"), std::string::npos) << html.body.substr(0, 300);
  }
}

}  // namespace pgshift::testing
