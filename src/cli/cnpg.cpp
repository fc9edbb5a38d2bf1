// `pgshift cnpg render|lint`: CloudNativePG manifests.
#include "cli/cli.hpp"

namespace pgshift::cli {

void register_cnpg(CLI::App&, Context&) {}

}  // namespace pgshift::cli
