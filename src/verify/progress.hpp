// One line of progress for a terminal (pure): tables and chunks done, rows, rate and ETA.
//   "verify  3/12 tables  45/130 chunks  1.2M rows  410k rows/s  ETA 12s"
#pragma once

#include <string>

#include "verify/verify.hpp"

namespace pgshift::verify {

std::string progress_line(const Progress& p);

// "950", "12k", "1.2M", "3.4G": a count in three significant characters or so.
std::string short_count(double n);

}  // namespace pgshift::verify
