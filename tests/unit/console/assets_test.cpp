// console/pages: the embedded assets are the files in src/console/assets, with their types.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "console/pages.hpp"

using namespace pgshift;

namespace {

std::string source_file(const std::string& name) {
  std::ifstream in(std::string(PGSHIFT_SOURCE_DIR) + "/src/console/assets/" + name, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST(ConsoleAssets, EmbedsTheSourceFilesByteForByte) {
  for (const char* name : {"app.js", "app.css", "favicon.svg"}) {
    const console::Asset* a = console::find_asset(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_EQ(a->name, name);
    std::string disk = source_file(name);
    ASSERT_FALSE(disk.empty());
    EXPECT_EQ(a->body, disk) << name;
  }
  EXPECT_EQ(console::find_asset("app.js")->content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(console::find_asset("app.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(console::find_asset("favicon.svg")->content_type, "image/svg+xml");
}

TEST(ConsoleAssets, UnknownNamesAreNotFound) {
  for (const char* name : {"", "APP.JS", "../app.js", "app.js/", "app", "index.html"}) {
    EXPECT_EQ(console::find_asset(name), nullptr) << name;
  }
}

TEST(ConsoleAssets, ScriptUsesTheBasePathAndTheCustomHeaderAndNeverInnerHtml) {
  std::string_view js = console::find_asset("app.js")->body;
  EXPECT_NE(js.find("document.body.dataset.basePath"), std::string_view::npos);
  EXPECT_NE(js.find("'X-Pgshift-Request': '1'"), std::string_view::npos);
  EXPECT_NE(js.find("base + '/api/sql'"), std::string_view::npos);
  EXPECT_EQ(js.find("innerHTML"), std::string_view::npos);
  EXPECT_EQ(js.find("eval("), std::string_view::npos);
}
