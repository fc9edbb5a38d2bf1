// What every console page must satisfy for its Content-Security-Policy (script-src 'self';
// style-src 'self'): no inline script, no inline style, no event-handler attribute, no
// javascript: URL, and the one script and stylesheet from {base}/assets. Attributes are read
// tag by tag (quoted values skipped), so an escaped value that merely contains "onerror=" is
// not mistaken for an attribute, and a real one is found.
#pragma once

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace pgshift::console::test {

inline void expect_csp_clean(const std::string& html, const std::string& base = "") {
  static const std::regex tag_re(R"(<([a-zA-Z][a-zA-Z0-9]*)([^>]*)>)");
  static const std::regex attr_re(R"re(([^\s=/>"']+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s>"']+))?)re");
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), tag_re); it != std::sregex_iterator(); ++it) {
    std::string tag = (*it)[1];
    std::string attrs = (*it)[2];
    for (auto& c : tag) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    EXPECT_NE(tag, "style") << "inline <style>";
    if (tag == "script") {
      ++scripts;
      EXPECT_NE(attrs.find("src=\"" + base + "/assets/app.js\""), std::string::npos) << it->str();
    }
    for (auto a = std::sregex_iterator(attrs.begin(), attrs.end(), attr_re); a != std::sregex_iterator(); ++a) {
      std::string name = (*a)[1];
      std::string value = (*a)[2];
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      EXPECT_FALSE(name.starts_with("on")) << "event handler attribute in " << it->str();
      EXPECT_NE(name, "style") << "inline style in " << it->str();
      EXPECT_EQ(value.find("javascript:"), std::string::npos) << it->str();
    }
  }
  EXPECT_EQ(scripts, 1);
  EXPECT_NE(html.find("<link rel=\"stylesheet\" href=\"" + base + "/assets/app.css\">"), std::string::npos);
}

}  // namespace pgshift::console::test
