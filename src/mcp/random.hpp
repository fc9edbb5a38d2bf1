// Unpredictable identifiers: MCP session ids, correlation ids, untrusted-data fence boundaries.
// From the kernel's CSPRNG (getrandom via std::random_device on Linux); lowercase hex, so
// every character is visible ASCII as MCP-Session-Id requires.
#pragma once

#include <string>

namespace pgshift::mcp {

// 2 * bytes hex digits.
std::string random_id(size_t bytes);

}  // namespace pgshift::mcp
