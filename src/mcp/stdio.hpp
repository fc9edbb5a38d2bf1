// The stdio transport: newline-delimited JSON-RPC on stdin/stdout, one client, one session.
// stdout carries protocol messages only (logs go to stderr). tools/call requests run on worker
// threads (at most kStdioWorkers at once; more wait their turn), everything else on the reader
// thread at once, so notifications/cancelled reaches a running statement while it runs.
// When stdin closes (the client went away), running calls are cancelled, then serve_stdio
// returns.
#pragma once

#include <cstdio>
#include <istream>

#include "mcp/server.hpp"

namespace pgshift::mcp {

inline constexpr int kStdioWorkers = 4;
// A longer line is answered with an Invalid Request error and otherwise ignored.
inline constexpr size_t kMaxMessageBytes = 4 << 20;

void serve_stdio(Server& server, const Caller& caller, std::istream& in, std::FILE* out);

}  // namespace pgshift::mcp
