// run_browser_script(), stop_spawned(); see support/browser_script.hpp.
#include "support/browser_script.hpp"

#include <csignal>
#include <filesystem>
#include <fstream>

#include "support/support.hpp"

namespace pgshift::testing {

BrowserRun run_browser_script(const std::string& script, nlohmann::json config, const std::string& work,
                              util::Millis timeout) {
  config["userDataDir"] = work + "/chromium-profile";
  config["output"] = work + "/seen.json";
  std::filesystem::create_directories(work + "/chromium-profile");
  std::ofstream(work + "/config.json") << config.dump(2);
  util::ProcessSpec node;
  node.argv = {"node", std::string(PGSHIFT_SOURCE_DIR) + "/tests/e2e/browser/" + script, work + "/config.json"};
  util::RunResult r = util::run(node, timeout);
  BrowserRun out;
  out.exit_code = r.exit_code;
  out.err = r.err;
  if (r.exit_code == 0) out.seen = nlohmann::json::parse(read_file(work + "/seen.json"));
  return out;
}

void stop_spawned(util::Child*& child) {
  if (child == nullptr) return;
  child->signal(SIGTERM);
  if (!child->wait_for(util::Millis(15'000))) child->signal(SIGKILL);
  delete child;
  child = nullptr;
}

}  // namespace pgshift::testing
