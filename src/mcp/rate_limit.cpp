#include "mcp/rate_limit.hpp"

#include <fmt/format.h>

#include <cmath>

#include "util/error.hpp"

namespace pgshift::mcp {

double parse_rate(std::string_view text, std::string_view what) {
  auto bad = [&] {
    return UsageError(fmt::format("{}: '{}' is not a rate (e.g. 60/min, 5/s, 600/h)", what, text));
  };
  size_t slash = text.find('/');
  if (slash == std::string_view::npos || slash == 0) throw bad();
  double count = 0;
  try {
    size_t used = 0;
    count = std::stod(std::string(text.substr(0, slash)), &used);
    if (used != slash) throw bad();
  } catch (const std::logic_error&) {
    throw bad();
  }
  std::string_view unit = text.substr(slash + 1);
  double per_minute = unit == "s" || unit == "sec" ? count * 60
                      : unit == "min" || unit == "m" ? count
                      : unit == "h" || unit == "hour" ? count / 60
                                                      : -1;
  if (per_minute <= 0 || !std::isfinite(per_minute)) throw bad();
  return per_minute;
}

std::optional<util::Millis> RateLimiter::take(const std::string& identity, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  const double capacity = std::max(1.0, per_minute_);
  const double per_ms = per_minute_ / 60'000.0;
  // Forget buckets that have refilled completely: they behave like new ones.
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double ms = std::chrono::duration<double, std::milli>(now - it->second.at).count();
    if (it->first != identity && it->second.tokens + ms * per_ms >= capacity) it = buckets_.erase(it);
    else ++it;
  }
  auto [it, fresh] = buckets_.try_emplace(identity, Bucket{capacity, now});
  Bucket& b = it->second;
  if (!fresh) {
    double ms = std::chrono::duration<double, std::milli>(now - b.at).count();
    b.tokens = std::min(capacity, b.tokens + ms * per_ms);
    b.at = now;
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return std::nullopt;
  }
  return util::Millis(static_cast<long long>(std::ceil((1 - b.tokens) / per_ms)));
}

}  // namespace pgshift::mcp
