// Runs a function on a thread of its own with a large stack, and waits for it: the gate parses
// long texts there (nesting.hpp), so that libpg_query's recursion over a deep tree has room
// whatever the caller's stack (an HTTP worker, the MCP loop, main). The stack is reserved
// address space; only the pages the parse touches are used. Not for short texts: a thread
// costs tens of microseconds.
#pragma once

#include <cstddef>
#include <functional>

namespace pgshift::sqlgate {

// 256 MiB: a 1 MiB text (kMaxTextBytes) nests at most ~500,000 levels (two bytes a level, as
// in 1+1+...), and libpg_query uses about 120 bytes of stack a level (measured with 1+1+...).
inline constexpr size_t kDeepStackBytes = size_t{256} << 20;

// Calls fn on the new thread and returns true once it returned; false when the thread could
// not be created (fn was not called). fn must not throw.
bool run_on_deep_stack(const std::function<void()>& fn, size_t stack_bytes = kDeepStackBytes);

}  // namespace pgshift::sqlgate
