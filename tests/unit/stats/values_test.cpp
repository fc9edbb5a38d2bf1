// stats/values: how a diagnostic's cells become JSON and which type a column shows as.
#include "stats/values.hpp"

#include <gtest/gtest.h>

#include "stats/inspector.hpp"

using namespace pgshift::stats;
using nlohmann::json;

TEST(StatsValues, IntegersAreNumbersWhileExactInADouble) {
  EXPECT_EQ(integer_json("42"), json(42));
  EXPECT_EQ(integer_json("-7"), json(-7));
  EXPECT_EQ(integer_json("9007199254740992"), json(9007199254740992LL));
  EXPECT_EQ(integer_json("9007199254740993"), json("9007199254740993"));
  EXPECT_EQ(integer_json("-9223372036854775808"), json("-9223372036854775808"));
  EXPECT_EQ(integer_json("99999999999999999999999"), json("99999999999999999999999"));
}

TEST(StatsValues, NumericsKeepFractionsAndOddValuesAsText) {
  EXPECT_EQ(numeric_json("0.25"), json(0.25));
  EXPECT_EQ(numeric_json("12"), json(12));
  EXPECT_EQ(numeric_json("123456789012345678901234"), json("123456789012345678901234"));
  EXPECT_EQ(numeric_json("NaN"), json("NaN"));
  EXPECT_EQ(numeric_json("-Infinity"), json("-Infinity"));
  EXPECT_EQ(numeric_json("1e-05"), json(1e-05));
}

TEST(StatsValues, TimestampsBecomeIsoUtcWithMilliseconds) {
  EXPECT_EQ(iso_timestamp("2026-12-01 19:41:39.123456+00"), "2026-12-01T19:41:39.123Z");
  EXPECT_EQ(iso_timestamp("2026-12-01 19:41:39+00"), "2026-12-01T19:41:39.000Z");
  EXPECT_EQ(iso_timestamp("2026-12-01 19:41:39.5+00"), "2026-12-01T19:41:39.500Z");
  EXPECT_EQ(iso_timestamp("2026-12-01 19:41:39.5"), "2026-12-01T19:41:39.500Z");
  EXPECT_EQ(iso_timestamp("2026-12-01 19:41:39+05:30"), "2026-12-01T19:41:39.000+05:30");
  EXPECT_EQ(iso_timestamp("infinity"), "infinity");
}

TEST(StatsValues, CellsByTypeAndNull) {
  EXPECT_EQ(cell_json(std::nullopt, 23), json(nullptr));
  EXPECT_EQ(cell_json("t", 16), json(true));
  EXPECT_EQ(cell_json("f", 16), json(false));
  EXPECT_EQ(cell_json("5", 20), json(5));
  EXPECT_EQ(cell_json("0.5", 701), json(0.5));
  EXPECT_EQ(cell_json("[1,2]", 114), json::array({1, 2}));
  EXPECT_EQ(cell_json("{\"a\": 1}", 3802), json({{"a", 1}}));
  EXPECT_EQ(cell_json("0/16B3748", 3220), json("0/16B3748"));
  EXPECT_EQ(cell_json("2026-01-02 03:04:05+00", 1184), json("2026-01-02T03:04:05.000Z"));
  EXPECT_EQ(cell_json("", 25), json(""));  // empty text is not NULL
}

TEST(StatsValues, ColumnTypesFollowNamesThenTypes) {
  EXPECT_EQ(column_type("table_bytes", 20), "bytes");
  EXPECT_EQ(column_type("xact_seconds", 701), "seconds");
  EXPECT_EQ(column_type("cache_hit_ratio", 701), "ratio");
  EXPECT_EQ(column_type("last_vacuum_at", 1184), "timestamp");
  EXPECT_EQ(column_type("reply_time", 1184), "timestamp");
  EXPECT_EQ(column_type("restart_lsn", 3220), "lsn");
  EXPECT_EQ(column_type("active", 16), "bool");
  EXPECT_EQ(column_type("blocked_by", 114), "json");
  EXPECT_EQ(column_type("calls", 20), "count");
  EXPECT_EQ(column_type("pid", 23), "id");
  EXPECT_EQ(column_type("blocked_by", 23), "id");
  EXPECT_EQ(column_type("root_pid", 23), "id");
  EXPECT_EQ(column_type("relid", 26), "count") << "a name ending in id without the underscore is not one";
  EXPECT_EQ(column_type("schema", 19), "text");
}

TEST(StatsValues, InternalSchemasAreLeftOut) {
  using pgshift::stats::detail::is_internal_schema;
  for (auto s : {"pg_catalog", "information_schema", "pg_toast", "pg_temp_3", "pg_toast_temp_3", "pgshift",
                 "_timescaledb_internal", "_timescaledb_catalog", "timescaledb_information", "cnpg"}) {
    EXPECT_TRUE(is_internal_schema(s)) << s;
  }
  for (auto s : {"public", "app", "pgshift_data", "my_pg_catalog", "timescale"}) EXPECT_FALSE(is_internal_schema(s)) << s;
}
