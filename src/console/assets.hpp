// The console's static files as the build embedded them (internal to console; find_asset() in
// pages.hpp is the public face). The table is generated at build time from src/console/assets/
// by cmake/embed_assets.cmake; its last entry has an empty name.
#pragma once

#include <cstddef>
#include <string_view>

namespace pgshift::console {

struct EmbeddedFile {
  std::string_view name;  // file name, "app.js"
  const unsigned char* data;
  std::size_t size;
};

extern const EmbeddedFile kEmbeddedAssets[];

}  // namespace pgshift::console
