// bench/console load generator: N clients (keep-alive HTTP, one thread each) for D seconds
// against a running `pgshift console`, each request chosen round-robin per client among
//   overview   GET  /api/overview
//   browse     GET  /api/tables/public/big?page=500   (keyset page deep in a 5M-row table)
//   sql        POST /api/sql  SELECT ... WHERE id = <random>
// Prints per kind: requests, errors (any status but 200, or no answer), p50/p99/max in ms.
// Usage: bench_console PORT [CLIENTS=50] [SECONDS=30]
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Stats {
  std::vector<double> ms;
  long errors = 0;
};

// What a request without an answer looked like: after how long, and how many requests this
// client had sent before (its keep-alive connection is reused unless the server closed it).
std::string fmt_no_answer(httplib::Error e, double ms, size_t sent_before) {
  char buf[160];
  std::snprintf(buf, sizeof buf, "no answer: %s after %.1f ms (request %zu of this client)",
                httplib::to_string(e).c_str(), ms, sent_before + 1);
  return buf;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_console PORT [CLIENTS] [SECONDS]\n");
    return 2;
  }
  const int port = std::atoi(argv[1]);
  const int clients = argc > 2 ? std::atoi(argv[2]) : 50;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 30;
  const std::vector<std::string> kinds = {"overview", "browse", "sql"};
  std::mutex mutex;
  std::map<std::string, Stats> stats;
  const auto until = Clock::now() + std::chrono::seconds(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(30, 0);
      const std::string origin = "http://127.0.0.1:" + std::to_string(port);
      httplib::Headers post_headers = {{"Origin", origin}, {"X-Pgshift-Request", "1"}};
      std::mt19937 rng(static_cast<unsigned>(c));
      std::uniform_int_distribution<int> id(1, 5'000'000);
      std::map<std::string, Stats> local;
      for (size_t i = static_cast<size_t>(c); Clock::now() < until; ++i) {
        const std::string& kind = kinds[i % kinds.size()];
        auto t0 = Clock::now();
        std::string body = "{\"sql\": \"SELECT id, label FROM big WHERE id = " + std::to_string(id(rng)) + "\"}";
        httplib::Result r = kind == "overview" ? client.Get("/api/overview")
                            : kind == "browse" ? client.Get("/api/tables/public/big?page=500")
                                               : client.Post("/api/sql", post_headers, body, "application/json");
        double ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        Stats& s = local[kind];
        s.ms.push_back(ms);
        if (!r || r->status != 200) {
          ++s.errors;
          if (s.errors <= 3) {
            std::fprintf(stderr, "%s: %s\n", kind.c_str(),
                         r ? (std::to_string(r->status) + " " + r->body.substr(0, 200)).c_str()
                           : fmt_no_answer(r.error(), ms, i - static_cast<size_t>(c)).c_str());
          }
        }
      }
      std::lock_guard lock(mutex);
      for (auto& [k, s] : local) {
        stats[k].ms.insert(stats[k].ms.end(), s.ms.begin(), s.ms.end());
        stats[k].errors += s.errors;
      }
    });
  }
  for (auto& t : threads) t.join();
  std::printf("%-9s %9s %7s %9s %9s %9s %9s\n", "kind", "requests", "errors", "p50 ms", "p99 ms", "max ms", "req/s");
  long total_errors = 0;
  for (const auto& kind : kinds) {
    Stats& s = stats[kind];
    total_errors += s.errors;
    double n = static_cast<double>(s.ms.size());
    double p50 = percentile(s.ms, 0.50), p99 = percentile(s.ms, 0.99), max = s.ms.empty() ? 0 : s.ms.back();
    std::printf("%-9s %9zu %7ld %9.1f %9.1f %9.1f %9.1f\n", kind.c_str(), s.ms.size(), s.errors, p50, p99, max,
                n / seconds);
    if (kind == "browse") std::printf("BROWSE_P99 %.1f\n", p99);
  }
  std::printf("ERRORS %ld\n", total_errors);
  return 0;
}
