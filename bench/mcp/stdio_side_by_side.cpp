// bench/mcp, stdio part: writes the statements and the connection for stdio_side_by_side.mjs and
// runs it with node from the source directory (bench/mcp/run starts bench_mcp there; the SDK
// client and the reference server come from its node_modules, installed by scripts/install-deps).
// The script's output is the report.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "bench_mcp.hpp"
#include "util/process.hpp"

namespace pgshift::bench {

int run_stdio_side_by_side(const localpg::LocalCluster& cluster, const std::string& binary, const std::string& before,
                           const std::string& dir, int statements) {
  const std::string source_dir = std::filesystem::current_path();
  const std::string script = source_dir + "/bench/mcp/stdio_side_by_side.mjs";
  nlohmann::json cfg = {{"binary", binary},
                        {"db_url", cluster.url("postgres", "reader")},
                        {"audit_log", dir + "/stdio-audit.jsonl"},
                        {"warmup", 50},
                        {"statements", nlohmann::json::array()}};
  if (!before.empty()) cfg["before"] = before;
  // Simple reads as an agent sends them: a primary-key lookup with a different key each time.
  std::mt19937 rng(23);
  for (int i = 0; i < statements; ++i) {
    cfg["statements"].push_back(fmt::format("SELECT id, label, price FROM items WHERE id = {}", rng() % 200000 + 1));
  }
  std::ofstream(dir + "/stdio.json") << cfg.dump();
  util::ProcessSpec spec;
  spec.argv = {util::which("node"), script, dir + "/stdio.json"};
  spec.cwd = source_dir;
  util::RunResult r = util::run(spec, util::Millis(600'000));
  std::fputs(r.out.c_str(), stdout);
  std::fputs(r.err.c_str(), stderr);
  if (r.timed_out || r.exit_code != 0) {
    std::fprintf(stderr, "bench/mcp: the stdio side-by-side run failed (exit %d%s); is node_modules installed "
                 "(scripts/install-deps)?\n", r.exit_code, r.timed_out ? ", timed out" : "");
    return 3;
  }
  return 0;
}

}  // namespace pgshift::bench
