// A steady application-like write workload for the demo, the cutover acceptance test and the
// cutover benchmark. Each transaction inserts one row into `ledger` (its id from a sequence)
// and bumps the `counters` row, in one statement, through the URL it is given (normally the
// pooler). Every acknowledged id, every error and every latency is recorded, so a caller can
// prove "0 lost, 0 errors" and measure the stall.
//
// Clients run on their own threads at a fixed total rate; a failed transaction is recorded and
// the client reconnects. stop() joins the threads; outcome() is valid after stop().
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace pgshift::demo {

// The tables, on both sides; the counter row on the source only (the copy brings it).
inline constexpr std::string_view kWorkloadTables = R"sql(
CREATE TABLE ledger (id bigserial PRIMARY KEY, writer int NOT NULL, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE counters (k int PRIMARY KEY, n bigint NOT NULL);
)sql";
inline constexpr std::string_view kWorkloadSeed = "INSERT INTO counters VALUES (1, 0)";

// The ledger's counter row must hold this value on whichever side is the writer.
inline constexpr std::string_view kWorkloadCounterSql = "SELECT n FROM counters WHERE k = 1";

struct WorkloadOptions {
  std::string url;
  int clients = 4;
  double transactions_per_second = 200;
};

struct TxSample {
  double started_s;  // seconds since the workload started
  double latency_ms;
};

struct WorkloadError {
  double at_s;
  std::string message;
};

struct WorkloadOutcome {
  std::vector<int64_t> acknowledged_ids;
  std::vector<WorkloadError> errors;
  std::vector<TxSample> samples;
  double seconds = 0;
  // Latency statistics over samples whose start lies in [from_s, to_s).
  double median_ms(double from_s = 0, double to_s = 1e18) const;
  double max_ms(double from_s = 0, double to_s = 1e18) const;
};

class Workload {
 public:
  explicit Workload(WorkloadOptions options);
  ~Workload();
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;

  void start();
  void stop();
  double elapsed_s() const;                 // since start()
  int64_t acknowledged() const { return acked_count_.load(); }
  int64_t failed() const { return error_count_.load(); }
  WorkloadOutcome outcome() const;

 private:
  void client_loop(int index);

  WorkloadOptions options_;
  std::chrono::steady_clock::time_point started_;
  std::atomic<bool> stopping_{false};
  std::atomic<int64_t> acked_count_{0};
  std::atomic<int64_t> error_count_{0};
  std::vector<std::thread> threads_;
  mutable std::mutex mutex_;
  WorkloadOutcome outcome_;
};

}  // namespace pgshift::demo
