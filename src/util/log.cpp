#include "util/log.hpp"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <mutex>

#include "util/redact.hpp"

namespace pgshift::util {
namespace {

// A stderr sink that redacts registered secrets from each formatted line.
class RedactingStderrSink : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(msg, formatted);
    const std::string line = redact(std::string_view(formatted.data(), formatted.size()));
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

}  // namespace

void init_logging(LogLevel level) {
  auto sink = std::make_shared<RedactingStderrSink>();
  auto logger = std::make_shared<spdlog::logger>("pgshift", sink);
  logger->set_pattern(level >= LogLevel::verbose ? "%H:%M:%S.%e %^%l%$ %v" : "%^%l%$: %v");
  switch (level) {
    case LogLevel::quiet: logger->set_level(spdlog::level::warn); break;
    case LogLevel::normal: logger->set_level(spdlog::level::info); break;
    case LogLevel::verbose: logger->set_level(spdlog::level::debug); break;
    case LogLevel::debug: logger->set_level(spdlog::level::trace); break;
  }
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(logger);
}

}  // namespace pgshift::util
