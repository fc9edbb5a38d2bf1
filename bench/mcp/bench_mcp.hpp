// bench/mcp: the two runs of the MCP benchmark, sharing one database (bench_mcp.cpp builds it:
// table items, 200k rows, role reader with pg_read_all_data). Each prints its figures on stdout
// and returns the process exit code (0 even when a target is missed: figures, never verdicts;
// 3 when the run itself could not happen). binary: the pgshift executable to run.
#pragma once

#include <string>

#include "localpg/cluster.hpp"

namespace pgshift::bench {

// N sessions over Streamable HTTP against one `pgshift mcp --http` for S seconds
// (http_sessions.cpp): per-tool p50/p99, calls/s, errors, server peak RSS.
int run_http_sessions(const localpg::LocalCluster& cluster, const std::string& binary, const std::string& dir,
                      int sessions, int seconds);

// `pgshift mcp` over stdio side by side with the reference server-postgres, the same statements
// interleaved through the official SDK client (stdio_side_by_side.cpp / .mjs): p50/p99 and ratios.
// before: another pgshift executable run as a third server ("" for none).
int run_stdio_side_by_side(const localpg::LocalCluster& cluster, const std::string& binary, const std::string& before,
                           const std::string& dir, int statements);

}  // namespace pgshift::bench
