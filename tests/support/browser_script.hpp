// The console's browser tests (tests/e2e/console_*browser*_test.cpp, console_export_plan_test):
// a script under tests/e2e/browser drives Debian's chromium through playwright-core with node and
// writes what it saw as JSON; the C++ test asserts on that. These run the script and stop the
// console a suite started.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "util/process.hpp"

namespace pgshift::testing {

struct BrowserRun {
  int exit_code = -1;
  std::string err;      // the script's stderr (its stack when it failed)
  nlohmann::json seen;  // what it wrote to its output; null unless exit_code is 0
};

// Runs tests/e2e/browser/SCRIPT on config, to which it adds userDataDir (a fresh chromium profile)
// and output, both under work (config.json is written there too).
BrowserRun run_browser_script(const std::string& script, nlohmann::json config, const std::string& work,
                              util::Millis timeout);

// A server started with util::spawn and kept as a pointer for the suite: SIGTERM, SIGKILL after
// 15 s, then deleted and set to null. Nothing when null.
void stop_spawned(util::Child*& child);

}  // namespace pgshift::testing
