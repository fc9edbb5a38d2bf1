// The demo's sample application: a small shop on the source, and a target prepared the way
// teams usually prepare one (schema dumped a while ago, a seed row, a missed enum label), so
// `pgshift check` has real hazards to find. Fixes() repairs what the operator would repair.
#pragma once

#include <string_view>

namespace pgshift::demo {

// Tables, types and data on the source. ~10k rows.
inline constexpr std::string_view kSourceSchema = R"sql(
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped', 'refunded');
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status order_status NOT NULL DEFAULT 'pending',
  total numeric(12,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE page_views (viewed_at timestamptz NOT NULL, path text NOT NULL, customer_id bigint);
CREATE TABLE coupons (code text NOT NULL, discount numeric(5,2) NOT NULL);
CREATE UNIQUE INDEX coupons_code ON coupons (code);
CREATE UNLOGGED TABLE cart_sessions (token text PRIMARY KEY, data jsonb);
CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, queue text NOT NULL, state text NOT NULL, args jsonb);
CREATE TABLE legacy_reports (id serial PRIMARY KEY, body text);
)sql";

inline constexpr std::string_view kSourceData = R"sql(
INSERT INTO customers (email, name)
  SELECT 'customer' || g || '@example.com', 'Customer ' || g FROM generate_series(1, 2000) g;
INSERT INTO orders (customer_id, status, total, items)
  SELECT 1 + g % 2000, (ARRAY['pending','paid','shipped','refunded'])[1 + g % 4]::order_status,
         (g % 500) + 0.99, jsonb_build_array(jsonb_build_object('sku', 'SKU-' || g % 97, 'qty', 1 + g % 3))
    FROM generate_series(1, 6000) g;
INSERT INTO page_views SELECT now() - g * interval '1 minute', '/p/' || g % 50, 1 + g % 2000
  FROM generate_series(1, 2000) g;
INSERT INTO coupons VALUES ('WELCOME10', 10), ('SPRING5', 5);
INSERT INTO cart_sessions VALUES ('tok-1', '{}');
INSERT INTO oban_jobs (queue, state, args) SELECT 'mailers', 'completed', '{}' FROM generate_series(1, 50);
INSERT INTO legacy_reports (body) VALUES ('q1'), ('q2');
)sql";

// The target as it often arrives: legacy_reports never created, an enum label missed, a column
// narrowed, and a seed row someone inserted.
inline constexpr std::string_view kTargetSchema = R"sql(
CREATE TYPE order_status AS ENUM ('pending', 'paid', 'shipped');
CREATE TABLE customers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  email text NOT NULL UNIQUE,
  name text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id bigint NOT NULL REFERENCES customers (id),
  status order_status NOT NULL DEFAULT 'pending',
  total numeric(10,2) NOT NULL,
  items jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE page_views (viewed_at timestamptz NOT NULL, path text NOT NULL, customer_id bigint);
CREATE TABLE coupons (code text NOT NULL, discount numeric(5,2) NOT NULL);
CREATE UNIQUE INDEX coupons_code ON coupons (code);
CREATE UNLOGGED TABLE cart_sessions (token text PRIMARY KEY, data jsonb);
CREATE TABLE oban_jobs (id bigserial PRIMARY KEY, queue text NOT NULL, state text NOT NULL, args jsonb);
INSERT INTO customers (email, name) VALUES ('admin@example.com', 'Seed admin');
)sql";

// What the operator does after reading the check report.
inline constexpr std::string_view kTargetFixes = R"sql(
ALTER TYPE order_status ADD VALUE 'refunded';
ALTER TABLE orders ALTER COLUMN total TYPE numeric(12,2);
CREATE TABLE legacy_reports (id serial PRIMARY KEY, body text);
TRUNCATE customers CASCADE;
)sql";

// Tables the demo leaves out: the job queue drains before cutover instead.
inline constexpr std::string_view kExcludedQueue = "oban_jobs";

}  // namespace pgshift::demo
