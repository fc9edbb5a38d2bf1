#include "verify/progress.hpp"

#include <fmt/format.h>

#include "util/duration.hpp"

namespace pgshift::verify {

std::string short_count(double n) {
  if (n < 1e3) return fmt::format("{:.0f}", n);
  if (n < 1e6) return fmt::format("{:.{}f}k", n / 1e3, n < 1e4 ? 1 : 0);
  if (n < 1e9) return fmt::format("{:.{}f}M", n / 1e6, n < 1e7 ? 1 : 0);
  return fmt::format("{:.1f}G", n / 1e9);
}

std::string progress_line(const Progress& p) {
  double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.rows_done) / p.elapsed_seconds : 0;
  std::string eta = "ETA -";
  if (rate > 0 && p.rows_estimate > p.rows_done) {
    auto seconds = static_cast<double>(p.rows_estimate - p.rows_done) / rate;
    eta = "ETA " + util::format_duration(util::Millis(static_cast<int64_t>(seconds * 1000)));
  } else if (p.tables_done == p.tables_total) {
    eta = "done";
  }
  return fmt::format("verify  {}/{} tables  {}/{} chunks  {} rows  {} rows/s  {}", p.tables_done, p.tables_total,
                     p.chunks_done, p.chunks_total, short_count(static_cast<double>(p.rows_done)), short_count(rate), eta);
}

}  // namespace pgshift::verify
