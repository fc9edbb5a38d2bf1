// A token bucket per identity: `per_minute` tokens refill evenly over a minute, a full bucket
// holds `per_minute` (the burst). take() spends one token or says how long until one is there.
// Identities are kept only while their bucket is not full (memory stays bounded by the active
// callers). Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "util/duration.hpp"

namespace pgshift::mcp {

// "60/min", "10/s", "600/h" → tokens per minute. Throws UsageError naming `what`.
double parse_rate(std::string_view text, std::string_view what);

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RateLimiter(double per_minute) : per_minute_(per_minute) {}

  // nullopt when a token was taken; otherwise the wait until the next token.
  std::optional<util::Millis> take(const std::string& identity, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point at;
  };
  double per_minute_;
  std::mutex mutex_;
  std::map<std::string, Bucket> buckets_;
};

}  // namespace pgshift::mcp
