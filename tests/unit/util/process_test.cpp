#include "util/process.hpp"

#include <gtest/gtest.h>

using namespace pgshift::util;

TEST(Process, CapturesOutputAndExitCode) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "echo out; echo err >&2; exit 7"};
  RunResult r = run(spec);
  EXPECT_EQ(r.exit_code, 7);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
}

TEST(Process, FeedsStdinAndSetsEnvironment) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "cat; printf %s \"$PGSHIFT_X\""};
  spec.env["PGSHIFT_X"] = "y";
  RunResult r = run(spec, std::nullopt, std::string(200'000, 'a'));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out.size(), 200'001u);
  EXPECT_EQ(r.out.back(), 'y');
}

TEST(Process, KillsOnTimeout) {
  ProcessSpec spec;
  spec.argv = {"sleep", "30"};
  auto start = std::chrono::steady_clock::now();
  RunResult r = run(spec, Millis(200));
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.exit_code, 128 + 9);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST(Process, MissingProgramExits127) {
  ProcessSpec spec;
  spec.argv = {"pgshift-no-such-program"};
  EXPECT_EQ(run(spec).exit_code, 127);
}

TEST(Process, SpawnedChildCanBeWaitedFor) {
  ProcessSpec spec;
  spec.argv = {"sh", "-c", "exit 3"};
  Child c = spawn(spec);
  auto code = c.wait_for(Millis(5000));
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 3);
  EXPECT_FALSE(c.running());
}
