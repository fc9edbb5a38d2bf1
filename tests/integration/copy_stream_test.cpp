// pg::stream_copy and pg::ReplicationConnection on two real clusters: rows of many types move
// from one server to the other in binary and text COPY; a failing target COPY leaves both
// connections usable and the target empty; an exported snapshot shows the data as of the slot's
// creation to another session (and a write after it is not in it), and the slot stays after the
// replication connection is gone, while the snapshot does not.
#include <gtest/gtest.h>

#include <optional>

#include "pg/copy_stream.hpp"
#include "pg/error.hpp"
#include "pg/replication_connection.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSchema = R"sql(
CREATE TABLE things (id int PRIMARY KEY, name text, tags text[], doc jsonb, data bytea, at timestamptz,
                     amount numeric(12,2));
)sql";

class CopyStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("copy-src").release();
    target_ = start_cluster("copy-tgt").release();
    pg::Connection s = connect(*source_);
    run_sql(s, kSchema);
    run_sql(s, "INSERT INTO things SELECT g, 'n' || g, ARRAY['a', g::text], jsonb_build_object('g', g), "
               "decode(md5(g::text), 'hex'), '2025-01-01'::timestamptz + g * interval '1 minute', g / 7.0 "
               "FROM generate_series(1, 20000) g");
    run_sql(s, "INSERT INTO things VALUES (0, NULL, NULL, NULL, NULL, NULL, NULL)");
    pg::Connection t = connect(*target_);
    run_sql(t, kSchema);
  }
  static void TearDownTestSuite() {
    delete source_;
    delete target_;
  }
  static std::string digest(pg::Connection& c) {
    return c.exec("SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM things t").scalar();
  }
  static inline LocalCluster* source_ = nullptr;
  static inline LocalCluster* target_ = nullptr;
};

TEST_F(CopyStreamTest, BinaryAndTextCopiesMoveEveryRowUnchanged) {
  pg::Connection s = connect(*source_);
  pg::Connection t = connect(*target_);
  for (std::string format : {"binary", "text"}) {
    t.exec("TRUNCATE things");
    int64_t reported = 0;
    pg::CopyTotals totals = pg::stream_copy(
        s, "COPY (SELECT * FROM things WHERE id >= 0) TO STDOUT (FORMAT " + format + ")", t,
        "COPY things FROM STDIN (FORMAT " + format + ")", [&](int64_t n) { reported += n; });
    EXPECT_EQ(totals.rows, 20001) << format;
    EXPECT_GT(totals.bytes, 20001 * 20) << format;
    EXPECT_EQ(reported, totals.bytes) << format;
    EXPECT_EQ(digest(t), digest(s)) << format;
  }
}

TEST_F(CopyStreamTest, AFailingTargetCopyLeavesNothingAndBothConnectionsUsable) {
  pg::Connection s = connect(*source_);
  pg::Connection t = connect(*target_);
  t.exec("TRUNCATE things");
  t.exec("INSERT INTO things (id) VALUES (15000)");  // the COPY hits its primary key
  try {
    pg::stream_copy(s, "COPY things TO STDOUT (FORMAT binary)", t, "COPY things FROM STDIN (FORMAT binary)");
    FAIL() << "a duplicate key must fail the COPY";
  } catch (const pg::SqlError& e) {
    EXPECT_EQ(e.sqlstate(), "23505") << e.what();
  }
  EXPECT_EQ(t.exec("SELECT count(*) FROM things").scalar_int64(), 1);
  EXPECT_EQ(s.exec("SELECT 1").scalar(), "1");
  // A source statement that fails: the target COPY is aborted, nothing is applied.
  t.exec("TRUNCATE things");
  EXPECT_THROW(pg::stream_copy(s, "COPY (SELECT 1 / (id - 5000), * FROM things) TO STDOUT", t,
                               "COPY things FROM STDIN"),
               pg::SqlError);
  EXPECT_EQ(t.exec("SELECT count(*) FROM things").scalar_int64(), 0);
  EXPECT_EQ(t.exec("SELECT 1").scalar(), "1");
}

TEST_F(CopyStreamTest, ExportedSnapshotShowsTheDataAsOfTheSlot) {
  pg::Connection s = connect(*source_);
  std::optional<pg::ReplicationConnection> repl = pg::ReplicationConnection::open(source_->conninfo(), "source");
  pg::ExportedSlot slot = repl->create_logical_slot_exporting("copy_test_slot");
  EXPECT_EQ(slot.slot, "copy_test_slot");
  EXPECT_FALSE(slot.snapshot.empty());
  s.exec("INSERT INTO things (id) VALUES (-1)");  // after the snapshot: not in it

  pg::Connection reader = connect(*source_);
  reader.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  reader.exec("SET TRANSACTION SNAPSHOT '" + slot.snapshot + "'");
  EXPECT_EQ(reader.exec("SELECT count(*) FROM things").scalar_int64(), 20001);
  reader.exec("COMMIT");
  EXPECT_EQ(s.exec("SELECT count(*) FROM things").scalar_int64(), 20002);
  EXPECT_EQ(s.exec("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'copy_test_slot'").scalar_int64(), 1);

  repl.reset();  // the snapshot ends with its connection; the slot stays
  pg::Connection late = connect(*source_);
  late.exec("BEGIN ISOLATION LEVEL REPEATABLE READ");
  try {
    late.exec("SET TRANSACTION SNAPSHOT '" + slot.snapshot + "'");
    FAIL() << "the snapshot must be gone with its connection";
  } catch (const pg::SqlError& e) {
    EXPECT_EQ(e.sqlstate(), "22023") << e.what();
  }
  late.exec("ROLLBACK");
  EXPECT_EQ(s.exec("SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'copy_test_slot'").scalar_int64(), 1);
  s.exec("SELECT pg_drop_replication_slot('copy_test_slot')");
  s.exec("DELETE FROM things WHERE id = -1");
}

}  // namespace
