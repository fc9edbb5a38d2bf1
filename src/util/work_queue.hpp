// Runs items on a fixed number of threads: each thread takes the next item until none is left.
// For work where each thread holds its own resources (a connection pair per copy worker).
//
// Contract: run(workers, count, fn) calls fn(worker, item) for every item in [0, count), items
// taken in order, at most `workers` at a time, worker in [0, workers). The first exception a
// call throws stops handing out items (calls already running finish), and run() rethrows it
// once every thread has ended;
// fn must be safe to call from several threads at once.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace pgshift::util {

inline void run_work_queue(int workers, size_t count, const std::function<void(int worker, size_t item)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto loop = [&](int worker) {
    while (!failed.load()) {
      size_t item = next.fetch_add(1);
      if (item >= count) return;
      try {
        fn(worker, item);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!first_error) first_error = std::current_exception();
        failed = true;
      }
    }
  };
  int n = static_cast<int>(std::min<size_t>(static_cast<size_t>(std::max(1, workers)), std::max<size_t>(count, 1)));
  std::vector<std::thread> threads;
  for (int w = 1; w < n; ++w) threads.emplace_back(loop, w);
  loop(0);
  for (auto& t : threads) t.join();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace pgshift::util
