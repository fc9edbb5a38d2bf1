// Ctrl-C for long-running loops (sync status --watch, sync soak): install_interrupt_handler()
// makes SIGINT and SIGTERM set a flag instead of killing the process, so a loop can finish its
// current step, record what happened and exit cleanly. A second signal kills as usual.
#pragma once

#include "util/duration.hpp"

namespace pgshift::util {

void install_interrupt_handler();
bool interrupted();

// Waits up to `d`; returns early (false) when interrupted, true when the time passed.
bool sleep_unless_interrupted(Millis d);

}  // namespace pgshift::util
