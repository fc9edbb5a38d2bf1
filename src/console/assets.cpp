// find_asset(): the embedded files (console/assets.hpp) with their content types.
#include "console/assets.hpp"

#include <vector>

#include "console/pages.hpp"

namespace pgshift::console {
namespace {

std::string_view content_type(std::string_view name) {
  if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
  if (name.ends_with(".css")) return "text/css; charset=utf-8";
  if (name.ends_with(".svg")) return "image/svg+xml";
  if (name.ends_with(".png")) return "image/png";
  return "application/octet-stream";
}

}  // namespace

const Asset* find_asset(std::string_view name) {
  static const std::vector<Asset> assets = [] {
    std::vector<Asset> out;
    for (const EmbeddedFile* f = kEmbeddedAssets; !f->name.empty(); ++f) {
      out.push_back({f->name, content_type(f->name), {reinterpret_cast<const char*>(f->data), f->size}});
    }
    return out;
  }();
  if (name.empty()) return nullptr;
  for (const Asset& a : assets) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace pgshift::console
