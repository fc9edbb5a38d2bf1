// How a table is cut into chunks (pure). Chunk bounds come from a block sample of the source
// ordered by key (sql.hpp sample_query), so chunks hold about the same number of rows however
// the key values are spread; these functions size the plan and the sample.
#pragma once

#include <cstdint>

namespace pgshift::verify {

// Chunks for a table of about est_rows rows: ceil(est_rows / chunk_rows), at least 1, at most
// kMaxChunks (beyond that chunks grow instead).
int64_t chunk_count(int64_t est_rows, int64_t chunk_rows);
inline constexpr int64_t kMaxChunks = 20'000;

// TABLESAMPLE SYSTEM percentage giving at least kSampleRowsPerChunk sampled rows and
// kSamplePagesPerChunk sampled pages per chunk (whole pages are sampled, and rows on one page
// tend to have neighbouring keys). In (0, 100].
double sample_percent(int64_t est_rows, int64_t pages, int64_t chunks);
inline constexpr int64_t kSampleRowsPerChunk = 50;
inline constexpr int64_t kSamplePagesPerChunk = 10;

}  // namespace pgshift::verify
