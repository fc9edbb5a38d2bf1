#include "demo/workload.hpp"

#include <algorithm>
#include <optional>

#include "pg/connection.hpp"

namespace pgshift::demo {
namespace {

// One statement, so one implicit transaction: the insert and the counter bump commit together.
constexpr std::string_view kTransactionSql = R"sql(
WITH ins AS (INSERT INTO ledger (writer) VALUES ($1) RETURNING id)
UPDATE counters SET n = n + 1 WHERE k = 1 RETURNING (SELECT id FROM ins)
)sql";

std::vector<double> latencies(const WorkloadOutcome& o, double from_s, double to_s) {
  std::vector<double> out;
  for (const auto& s : o.samples) {
    if (s.started_s >= from_s && s.started_s < to_s) out.push_back(s.latency_ms);
  }
  return out;
}

}  // namespace

double WorkloadOutcome::median_ms(double from_s, double to_s) const {
  std::vector<double> l = latencies(*this, from_s, to_s);
  if (l.empty()) return 0;
  std::nth_element(l.begin(), l.begin() + static_cast<long>(l.size() / 2), l.end());
  return l[l.size() / 2];
}

double WorkloadOutcome::max_ms(double from_s, double to_s) const {
  std::vector<double> l = latencies(*this, from_s, to_s);
  return l.empty() ? 0 : *std::max_element(l.begin(), l.end());
}

Workload::Workload(WorkloadOptions options) : options_(std::move(options)) {}

Workload::~Workload() { stop(); }

void Workload::start() {
  started_ = std::chrono::steady_clock::now();
  for (int i = 0; i < options_.clients; ++i) threads_.emplace_back([this, i] { client_loop(i); });
}

void Workload::stop() {
  stopping_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
  std::lock_guard lock(mutex_);
  outcome_.seconds = elapsed_s();
}

double Workload::elapsed_s() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
}

WorkloadOutcome Workload::outcome() const {
  std::lock_guard lock(mutex_);
  return outcome_;
}

void Workload::client_loop(int index) {
  using clock = std::chrono::steady_clock;
  const auto interval = std::chrono::duration_cast<clock::duration>(
      std::chrono::duration<double>(options_.clients / options_.transactions_per_second));
  pg::ConnectOptions connect;
  connect.application_name = "pgshift-workload";
  connect.connect_timeout = std::chrono::seconds(5);
  connect.role = "workload";
  std::optional<pg::Connection> conn;
  auto next = clock::now() + interval * index / std::max(1, options_.clients);
  while (!stopping_) {
    std::this_thread::sleep_until(next);
    next += interval;
    auto t0 = clock::now();
    double started_s = std::chrono::duration<double>(t0 - started_).count();
    try {
      if (!conn) conn.emplace(pg::Connection::open(pg::ConnInfo::parse(options_.url, "workload"), connect));
      pg::Result r = conn->exec(kTransactionSql, {index});
      int64_t id = r.row(0).int64("id");
      double ms = std::chrono::duration<double, std::milli>(clock::now() - t0).count();
      acked_count_++;
      std::lock_guard lock(mutex_);
      outcome_.acknowledged_ids.push_back(id);
      outcome_.samples.push_back({started_s, ms});
    } catch (const std::exception& e) {
      error_count_++;
      {
        std::lock_guard lock(mutex_);
        outcome_.errors.push_back({started_s, e.what()});
      }
      conn.reset();
    }
    // A stalled transaction must not be followed by a burst that hides the stall.
    if (clock::now() > next) next = clock::now();
  }
}

}  // namespace pgshift::demo
