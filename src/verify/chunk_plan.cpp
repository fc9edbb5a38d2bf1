#include "verify/chunk_plan.hpp"

#include <algorithm>

namespace pgshift::verify {

int64_t chunk_count(int64_t est_rows, int64_t chunk_rows) {
  if (est_rows <= 0 || chunk_rows <= 0) return 1;
  return std::clamp<int64_t>((est_rows + chunk_rows - 1) / chunk_rows, 1, kMaxChunks);
}

double sample_percent(int64_t est_rows, int64_t pages, int64_t chunks) {
  double by_rows = est_rows > 0 ? 100.0 * static_cast<double>(chunks * kSampleRowsPerChunk) / static_cast<double>(est_rows) : 100.0;
  double by_pages = pages > 0 ? 100.0 * static_cast<double>(chunks * kSamplePagesPerChunk) / static_cast<double>(pages) : 100.0;
  return std::clamp(std::max(by_rows, by_pages), 0.0001, 100.0);
}

}  // namespace pgshift::verify
