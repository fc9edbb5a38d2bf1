// pgshift: CLI wiring only. Parse, build the command's options, call one function; map
// exceptions to exit codes (0 ok, 1 problems found, 2 usage, 3 runtime error).
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <string>

#include "cli/cli.hpp"
#include "util/error.hpp"
#include "util/redact.hpp"

int main(int argc, char** argv) {
  using namespace pgshift;
  // A closed pipe or socket is an error to handle, not a reason to die (the watchdog pipe, a
  // client of `pgshift ... | head`).
  std::signal(SIGPIPE, SIG_IGN);
  CLI::App app{"pgshift: move a live PostgreSQL database with logical replication, and look inside safely",
               "pgshift"};
  app.set_version_flag("--version", PGSHIFT_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  cli::Context ctx;
  app.add_option("--connect-timeout", ctx.connect_timeout, "Connection timeout (e.g. 10s, 500ms)")
      ->capture_default_str();
  app.add_flag("-v,--verbose", ctx.verbose, "Log more detail to stderr");
  app.add_flag("-q,--quiet", ctx.quiet, "Log only warnings and errors");

  cli::register_schema(app, ctx);
  cli::register_check(app, ctx);
  cli::register_sync(app, ctx);
  cli::register_verify(app, ctx);
  cli::register_cutover(app, ctx);
  cli::register_query(app, ctx);
  cli::register_console(app, ctx);
  cli::register_demo(app, ctx);
  cli::register_backups(app, ctx);
  cli::register_drill(app, ctx);
  cli::register_roles(app, ctx);
  cli::register_cnpg(app, ctx);
  cli::register_mcp(app, ctx);

  try {
    app.parse(cli::take_arguments(argc, argv));
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "pgshift: %s\nRun 'pgshift --help' (or 'pgshift COMMAND --help') for usage.\n",
                 util::redact(e.what()).c_str());
    return static_cast<int>(ExitCode::usage);
  } catch (const Error& e) {
    std::fprintf(stderr, "pgshift: %s\n", util::redact(e.what()).c_str());
    return static_cast<int>(e.exit_code());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "pgshift: internal error: %s\n", util::redact(e.what()).c_str());
    return static_cast<int>(ExitCode::runtime);
  }
  return ctx.exit_code;
}
