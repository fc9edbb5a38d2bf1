#include "canary.hpp"

#include <fmt/format.h>

#include "pg/quote.hpp"

namespace pgshift::testing {

const std::string_view kCanarySchema = R"sql(
CREATE EXTENSION dblink;
CREATE TABLE accounts (id bigserial PRIMARY KEY, owner text NOT NULL, balance numeric(14,2) NOT NULL,
                       created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE orders (id bigserial PRIMARY KEY, account_id bigint REFERENCES accounts, amount numeric(12,2),
                     status text, placed_at timestamptz);
CREATE TABLE events (id bigserial PRIMARY KEY, payload jsonb, tags text[]);
CREATE TABLE categories (id int PRIMARY KEY, parent_id int REFERENCES categories, name text);
CREATE INDEX orders_placed_brin ON orders USING brin (placed_at);
CREATE INDEX events_tags_gin ON events USING gin (tags) WITH (fastupdate = on);
CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 100;
CREATE SEQUENCE invoice_seq;
INSERT INTO accounts (owner, balance, created_at)
  SELECT (ARRAY['alice', 'bob', 'carol', 'dave', 'erin'])[1 + g % 5] || ' ' || g, (g * 37 % 1000)::numeric / 1.5,
         now() - g * interval '3 days'
  FROM generate_series(1, 20) g;
INSERT INTO orders (account_id, amount, status, placed_at)
  SELECT 1 + g % 20, (g * 7919 % 1500)::numeric / 3, (ARRAY['paid', 'refunded', 'open'])[1 + g % 3],
         now() - g * interval '1 day'
  FROM generate_series(1, 300) g;
INSERT INTO events (payload, tags)
  SELECT jsonb_build_object('type', (ARRAY['click', 'view'])[1 + g % 2], 'user', jsonb_build_object('id', g % 7),
                            'tags', jsonb_build_array('a', 'b')), ARRAY['x', 'y']
  FROM generate_series(1, 50) g;
INSERT INTO categories VALUES (1, NULL, 'root'), (2, 1, 'books'), (3, 2, 'sci-fi'), (4, 1, 'music');
CREATE MATERIALIZED VIEW order_totals AS SELECT account_id, sum(amount) AS total FROM orders GROUP BY 1;
CREATE PROCEDURE wipe() LANGUAGE sql AS $$DELETE FROM orders$$;
CREATE FUNCTION canary_write() RETURNS SETOF int LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO categories VALUES (99, NULL, 'written'); RETURN NEXT 1; END$$;
CREATE SCHEMA shadow;
CREATE FUNCTION shadow.generate_series(int, int) RETURNS SETOF int LANGUAGE plpgsql AS
  $$BEGIN INSERT INTO categories VALUES (98, NULL, 'shadowed'); RETURN NEXT 1; END$$;
SELECT lo_from_bytea(4242, 'secret large object');
SELECT setval('invoice_seq', 7);
ANALYZE;
)sql";

Checksum checksum(pg::Connection& conn, bool with_xid) {
  Checksum out;
  pg::Result tables = conn.exec(
      "SELECT n.nspname, c.relname, c.relkind FROM pg_class c "
      "JOIN pg_namespace n ON n.oid = c.relnamespace "
      "WHERE c.relkind IN ('r', 'm', 'S') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
      "AND n.nspname NOT LIKE 'pg_toast%' ORDER BY 1");
  for (int i = 0; i < tables.rows(); ++i) {
    std::string name = pg::qualified_name(tables.view(i, 0), tables.view(i, 1));
    out["table " + name] =
        tables.view(i, 2) == "S"
            ? conn.exec(fmt::format("SELECT last_value || '/' || is_called FROM {}", name)).scalar()
            : conn.exec(fmt::format("SELECT count(*) || ':' || coalesce(md5(string_agg(t::text, ',' ORDER BY "
                                    "t::text)), '') FROM {} t",
                                    name))
                  .scalar();
  }
  for (const char* catalog : {"pg_class", "pg_proc", "pg_namespace", "pg_roles", "pg_database", "pg_collation",
                              "pg_largeobject_metadata", "pg_replication_slots", "pg_replication_origin",
                              "pg_prepared_xacts", "pg_extension"}) {
    out[catalog] = conn.exec(fmt::format("SELECT count(*) FROM {}", catalog)).scalar();
  }
  out["advisory locks"] = conn.exec("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'").scalar();
  out["sessions"] = conn.exec("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'").scalar();
  out["stats reset"] =
      conn.exec("SELECT coalesce(stats_reset::text, 'never') FROM pg_stat_database WHERE datname = current_database()")
          .scalar();
  out["bgwriter reset"] = conn.exec("SELECT stats_reset::text FROM pg_stat_bgwriter").scalar();
  if (with_xid) out["next xid"] = conn.exec("SELECT pg_snapshot_xmax(pg_current_snapshot())::text").scalar();
  return out;
}

std::string diff(const Checksum& before, const Checksum& after) {
  std::string out;
  for (const auto& [k, v] : after) {
    auto it = before.find(k);
    if (it == before.end()) out += fmt::format("  new {} = {}\n", k, v);
    else if (it->second != v) out += fmt::format("  {}: {} -> {}\n", k, it->second, v);
  }
  for (const auto& [k, v] : before) {
    if (!after.count(k)) out += fmt::format("  gone {}\n", k);
  }
  return out;
}

}  // namespace pgshift::testing
