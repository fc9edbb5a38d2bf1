#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "cli/cli.hpp"
#include "pg/connection.hpp"
#include "util/error.hpp"
#include "util/log.hpp"

namespace pgshift::cli {

void Context::prepare(const std::string& command) const {
  util::init_logging(quiet ? util::LogLevel::quiet : verbose ? util::LogLevel::verbose : util::LogLevel::normal);
  pg::ConnectOptions options;
  options.application_name = "pgshift/" + command;
  options.connect_timeout = util::parse_duration(connect_timeout, "--connect-timeout");
  if (options.connect_timeout.count() <= 0) throw UsageError("--connect-timeout: must be positive");
  pg::set_default_connect_options(options);
}

void add_plan_flags(CLI::App* cmd, state::PlanInputs& inputs, bool with_excludes) {
  cmd->add_option("--source", inputs.source, "Source database URL or conninfo (env PGSHIFT_SOURCE_URL)");
  cmd->add_option("--target", inputs.target, "Target database URL or conninfo (env PGSHIFT_TARGET_URL)");
  cmd->add_option("-c,--config", inputs.config_file, "Migration plan file (YAML)");
  if (with_excludes) {
    cmd->add_option("--exclude", inputs.excludes,
                    "Table pattern to leave out (name, schema.name, wildcards); repeatable");
  }
}

void add_source_subscriber_flag(CLI::App* cmd, state::PlanInputs& inputs) {
  cmd->add_option("--source-subscriber", inputs.source_subscriber,
                  "Source URL of a role that may CREATE SUBSCRIPTION (same server and database as --source), used "
                  "for the replication back when the sync role may not (env PGSHIFT_SOURCE_SUBSCRIBER_URL)");
}

std::vector<std::string> take_arguments(int argc, char** argv) {
  std::vector<std::string> args;
  for (int i = argc - 1; i > 0; --i) args.emplace_back(argv[i]);
  for (int i = 1; i < argc; ++i) {
    std::string_view arg(argv[i]);
    pg::register_written_passwords(arg);
    for (const auto& [begin, end] : pg::password_spans(arg)) std::fill(argv[i] + begin, argv[i] + end, '*');
  }
  return args;
}

void print_json(const nlohmann::json& doc) {
  std::string text = doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace pgshift::cli
