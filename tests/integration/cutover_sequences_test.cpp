// Sequences at cutover (issue 22 item 6: nothing per-sequence inside the pause): prepared before
// the pause, then in the pause only the sequences that moved since are set, and still every
// sequence ends at the old writer's value — including one never called, one called between the
// two, one created on both sides in between, and with a margin.
#include <gtest/gtest.h>

#include <fmt/ranges.h>

#include <algorithm>

#include "cutover/sequences.hpp"
#include "support/support.hpp"

using namespace pgshift;
using namespace pgshift::testing;

namespace {

constexpr std::string_view kSequences = R"sql(
CREATE SEQUENCE busy;
CREATE SEQUENCE idle;
CREATE SEQUENCE never_called START 50;
CREATE SEQUENCE down INCREMENT -2 START -10;
)sql";

class CutoverSequencesTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    source_ = start_cluster("seq-src").release();
    target_ = start_cluster("seq-tgt").release();
    for (auto* c : {source_, target_}) {
      c->create_database("app");
      pg::Connection conn = connect(*c, "app");
      run_sql(conn, kSequences);
    }
    pg::Connection s = connect(*source_, "app");
    run_sql(s, "SELECT nextval('busy') FROM generate_series(1, 10); SELECT nextval('idle') FROM generate_series(1, 3);"
               "SELECT nextval('down'); CREATE SEQUENCE source_only");
  }
  static void TearDownTestSuite() {
    delete target_;
    delete source_;
  }

  static std::string position(LocalCluster& c, const std::string& seq) {
    pg::Connection conn = connect(c, "app");
    return conn.exec("SELECT last_value || ' ' || is_called FROM " + seq).scalar();
  }

  static LocalCluster* source_;
  static LocalCluster* target_;
};

LocalCluster* CutoverSequencesTest::source_ = nullptr;
LocalCluster* CutoverSequencesTest::target_ = nullptr;

TEST_F(CutoverSequencesTest, OnlyWhatMovedSinceThePreparationIsSetInThePause) {
  pg::Connection s = connect(*source_, "app");
  pg::Connection t = connect(*target_, "app");
  cutover::PreparedSequences prepared = cutover::prepare_sequences(s, t, 0);
  EXPECT_EQ(prepared.set.size(), 4u);
  ASSERT_EQ(prepared.missing_on_target.size(), 1u);
  EXPECT_EQ(prepared.missing_on_target[0].name, "source_only");
  for (const char* seq : {"busy", "idle", "never_called", "down"}) {
    EXPECT_EQ(position(*target_, seq), position(*source_, seq)) << seq << " after prepare";
  }

  // Writes go on until the pause: busy moves, a sequence is created on both sides.
  run_sql(s, "SELECT nextval('busy') FROM generate_series(1, 5); CREATE SEQUENCE added; SELECT nextval('added')");
  run_sql(t, "CREATE SEQUENCE added");

  auto written = [](const std::vector<cutover::SequenceCopy>& copies) {
    return static_cast<size_t>(std::count_if(copies.begin(), copies.end(), [](const auto& c) { return c.written; }));
  };
  std::vector<cutover::SequenceCopy> copies = cutover::copy_sequences(s, t, 0, &prepared);
  size_t set_in_pause = written(copies);
  EXPECT_EQ(copies.size(), 6u);
  EXPECT_EQ(set_in_pause, 2u) << "busy and added moved; the rest were set before the pause";
  for (const char* seq : {"busy", "idle", "never_called", "down", "added"}) {
    EXPECT_EQ(position(*target_, seq), position(*source_, seq)) << seq << " after the pause";
  }
  for (const auto& c : copies) {
    if (c.sequence.name == "source_only") {
      EXPECT_FALSE(c.set_to.has_value());
    }
  }

  // Without a preparation (and with a margin) every sequence is set, as before.
  copies = cutover::copy_sequences(s, t, 100, nullptr);
  EXPECT_EQ(written(copies), 5u);
  EXPECT_EQ(position(*target_, "busy"), "115 true");
  EXPECT_EQ(position(*target_, "down"), "-210 true");
}

// On a provider's database its own sequences (Supabase's auth.refresh_tokens_id_seq) are not the
// application's: not set, not reported missing on the target. (Last in this file: the role that
// makes the source a Supabase one is dropped at the end.)
TEST_F(CutoverSequencesTest, AProvidersSequencesAreLeftOut) {
  pg::Connection s = connect(*source_, "app");
  pg::Connection t = connect(*target_, "app");
  run_sql(s, "CREATE ROLE supabase_admin NOLOGIN; CREATE SCHEMA auth; CREATE SEQUENCE auth.refresh_tokens_id_seq;"
             "SELECT nextval('auth.refresh_tokens_id_seq')");
  cutover::PreparedSequences prepared = cutover::prepare_sequences(s, t, 0);
  std::vector<std::string> missing;
  for (const auto& m : prepared.missing_on_target) missing.push_back(m.display());
  EXPECT_EQ(std::count(missing.begin(), missing.end(), "auth.refresh_tokens_id_seq"), 0) << fmt::format("{}", fmt::join(missing, ", "));
  EXPECT_EQ(std::count(missing.begin(), missing.end(), "public.source_only"), 1);  // the application's still is
  run_sql(s, "DROP SCHEMA auth CASCADE; DROP ROLE supabase_admin");
}

}  // namespace
