// bench/mcp, HTTP part: N MCP sessions over Streamable HTTP against one `pgshift mcp --http` for S seconds.
// Each session (its own token identity, its own keep-alive connection) initializes, then
// alternates a `query` (a primary-key lookup on a 200k-row table) and a `describe_table` of that
// table. Prints per-tool p50/p99/max latency, calls/s, errors (HTTP status other than 200, or a
// tool result with isError) and the server process's peak RSS. Targets (issue 13): 0 errors,
// p99 < 100 ms for describe_table, peak RSS < 64 MB.
#include <fmt/format.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "bench_mcp.hpp"
#include "http/auth.hpp"
#include "util/process.hpp"

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace pgshift::bench {
namespace {

struct Samples {
  std::mutex mutex;
  std::vector<double> query_ms, describe_ms;
  long long errors = 0;
  std::string first_error;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

long peak_rss_kb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with("VmHWM:")) return std::stol(line.substr(6));
  }
  return -1;
}

void session(int port, const std::string& token, Clock::time_point end, Samples& out, int seed) {
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // headers and body are two writes: no Nagle delay between them
  client.set_read_timeout(30, 0);
  httplib::Headers headers = {{"Authorization", "Bearer " + token},
                              {"Accept", "application/json, text/event-stream"}};
  auto post = [&](const json& body) { return client.Post("/mcp", headers, body.dump(), "application/json"); };
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(out.mutex);
    ++out.errors;
    if (out.first_error.empty()) out.first_error = why;
  };
  auto init = post({{"jsonrpc", "2.0"}, {"id", 0}, {"method", "initialize"},
                    {"params", {{"protocolVersion", "2025-11-25"}, {"capabilities", json::object()},
                                {"clientInfo", {{"name", "bench"}, {"version", "1"}}}}}});
  if (!init || init->status != 200) return fail(fmt::format("initialize: {}", init ? init->status : 0));
  headers.emplace("MCP-Session-Id", init->get_header_value("MCP-Session-Id"));
  headers.emplace("MCP-Protocol-Version", "2025-11-25");
  post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  std::mt19937 rng(static_cast<unsigned>(seed));
  for (long id = 1; Clock::now() < end; ++id) {
    bool describe = id % 2 == 0;
    json args = describe ? json{{"schema", "public"}, {"table", "items"}}
                         : json{{"sql", fmt::format("SELECT id, label, price FROM items WHERE id = {}", rng() % 200000 + 1)}};
    auto t0 = Clock::now();
    auto res = post({{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
                     {"params", {{"name", describe ? "describe_table" : "query"}, {"arguments", args}}}});
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    if (!res || res->status != 200) {
      fail(fmt::format("HTTP {}: {}", res ? res->status : 0, res ? res->body.substr(0, 200) : ""));
      continue;
    }
    json body = json::parse(res->body, nullptr, false);
    if (body.is_discarded() || !body.contains("result") || body["result"].value("isError", true)) {
      fail(res->body.substr(0, 300));
      continue;
    }
    std::lock_guard lock(out.mutex);
    (describe ? out.describe_ms : out.query_ms).push_back(ms);
  }
}

}  // namespace

int run_http_sessions(const localpg::LocalCluster& cluster, const std::string& binary, const std::string& dir,
                      int sessions, int seconds) {
  std::ofstream tokens(dir + "/tokens");
  for (int i = 0; i < sessions; ++i) tokens << "agent" << i << " " << http::sha256_hex("token-" + std::to_string(i)) << "\n";
  tokens.close();

  util::ProcessSpec spec;
  spec.argv = {binary, "mcp", "--db", cluster.url("postgres", "reader"), "--http", "127.0.0.1:0",
               "--auth", "token", "--tokens", dir + "/tokens", "--rate", "100000/min",
               "--max-connections-per-peer", "0"};  // every client is on loopback
  spec.output_file = dir + "/server.log";
  spec.parent_death_signal = SIGTERM;
  util::Child server = util::spawn(spec);
  int port = 0;
  for (int i = 0; i < 200 && port == 0; ++i) {
    std::smatch m;
    std::string log = read_file(dir + "/server.log");
    static const std::regex re(R"(port (\d+)\))");
    if (std::regex_search(log, m, re)) port = std::stoi(m[1]);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (port == 0) {
    std::fprintf(stderr, "bench/mcp: the server did not start:\n%s", read_file(dir + "/server.log").c_str());
    return 3;
  }
  std::printf("machine: %u cores; %d sessions for %d s against pgshift mcp --http (pool of 4, tokens)\n",
              std::thread::hardware_concurrency(), sessions, seconds);
  Samples samples;
  auto end = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int i = 0; i < sessions; ++i) {
    threads.emplace_back(session, port, "token-" + std::to_string(i), end, std::ref(samples), i);
  }
  for (auto& t : threads) t.join();
  long rss = peak_rss_kb(server.pid());
  server.signal(SIGTERM);
  server.wait_for(util::Millis(10'000));

  auto row = [&](const char* name, const std::vector<double>& v) {
    std::printf("%-15s %7zu calls %7.1f/s  p50 %6.1f ms  p99 %6.1f ms  max %6.1f ms\n", name, v.size(),
                static_cast<double>(v.size()) / seconds, percentile(v, 0.5), percentile(v, 0.99), percentile(v, 1.0));
  };
  row("query", samples.query_ms);
  row("describe_table", samples.describe_ms);
  std::printf("errors          %lld%s%s\n", samples.errors, samples.first_error.empty() ? "" : " (first: ",
              samples.first_error.empty() ? "" : (samples.first_error + ")").c_str());
  std::printf("server peak RSS %.1f MB (target < 64 MB); describe_table p99 / 100 ms target = %.2f\n",
              static_cast<double>(rss) / 1024, percentile(samples.describe_ms, 0.99) / 100);
  return 0;
}

}  // namespace pgshift::bench
