// The cutover acceptance test: an application writes through PgBouncer (transaction pooling)
// at a steady rate while pgshift cuts over, rolls back, cuts over again and finalizes. Every
// acknowledged commit must be on the writer, no client may see an error, sequences must be
// ahead, the old writer must refuse writes, and replication back must carry new writes.
#include "cutover_fixture.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

using CutoverTest = CutoverPair;

TEST_F(CutoverTest, CutoverRollbackCutoverFinalizeUnderLoad) {
  json cut = switch_under_load({"cutover", "--json"}, *target_);
  EXPECT_TRUE(cut["switched"].get<bool>());
  EXPECT_EQ(cut["writer_role"], "target");
  // The source refuses writes; the target takes them with sequences ahead.
  EXPECT_NE(write_error(*source_).find("25006"), std::string::npos);
  EXPECT_EQ(write_error(*target_), "");
  pg::Connection tgt = connect(*target_, "app");
  EXPECT_GE(tgt.exec("SELECT last_value FROM invoice_numbers").scalar_int64(), 1004) << "standalone sequence copied";
  // Replication back carries post-cutover writes to the source.
  int64_t target_rows = count_rows(tgt, "ledger");
  pg::Connection src = connect(*source_, "app");
  EXPECT_TRUE(wait_until([&] { return count_rows(src, "ledger") == target_rows; }, util::Millis(15'000)))
      << "replication back did not bring the source to " << target_rows << " rows";
  EXPECT_EQ(src.exec(std::string(demo::kWorkloadCounterSql)).scalar_int64(),
            tgt.exec(std::string(demo::kWorkloadCounterSql)).scalar_int64());

  json back = switch_under_load({"rollback", "--json"}, *source_);
  EXPECT_TRUE(back["switched"].get<bool>());
  EXPECT_EQ(back["writer_role"], "source");
  EXPECT_EQ(write_error(*source_), "");
  EXPECT_NE(write_error(*target_).find("25006"), std::string::npos) << "the target is fenced again";
  int64_t source_rows = count_rows(src, "ledger");
  EXPECT_TRUE(wait_until([&] { return count_rows(tgt, "ledger") == source_rows; }, util::Millis(15'000)))
      << "forward replication is not running again";

  json again = switch_under_load({"cutover", "--json"}, *target_);
  EXPECT_TRUE(again["switched"].get<bool>());

  CliRun fin = pgshift({"finalize", "--json"}, false);
  ASSERT_EQ(fin.exit_code, 0) << fin.all();
  for (auto* c : {source_.get(), target_.get()}) {
    pg::Connection conn = connect(*c, "app");
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_replication_slots").scalar_int64(), 0) << c->name();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_publication").scalar_int64(), 0) << c->name();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_subscription").scalar_int64(), 0) << c->name();
    EXPECT_EQ(conn.exec("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace "
                        "AND relkind IN ('r', 'p') AND relreplident <> 'd'")
                  .scalar_int64(),
              0)
        << c->name() << ": a replica identity pgshift set is still in place";
  }
  EXPECT_NE(write_error(*source_).find("25006"), std::string::npos) << "the old server stays fenced";
  EXPECT_EQ(write_error(*target_), "");
  EXPECT_GT(tgt.exec("SELECT count(*) FROM pgshift.event").scalar_int64(), 0) << "the journal stays";
  EXPECT_EQ(tgt.exec("SELECT phase FROM pgshift.migration ORDER BY id DESC LIMIT 1").scalar(), "finalized");
}

}  // namespace
