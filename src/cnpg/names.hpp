// Names of the resources pgshift derives from a Cluster (the recovery Cluster of a drill).
#pragma once

#include <cstddef>
#include <string>

namespace pgshift::cnpg {

// A resource name made unique by a suffix: "base-suffix", base cut (and lowercased, anything but
// a-z, 0-9 and '-' replaced) so that the whole is a DNS-1035 label of at most max_length
// characters (50 for a Cluster) with the suffix whole.
std::string suffixed_name(const std::string& base, const std::string& suffix, size_t max_length = 50);

}  // namespace pgshift::cnpg
