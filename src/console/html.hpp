// The console's one way of putting text into HTML, and the small helpers every page uses to
// build links. Nothing writes request or database text into a page except through
// html_escape(); nothing builds a URL except through url_encode() and the helpers below.
//
//   html_escape   text for an element's content or a quoted attribute value: & < > " ' become
//                 entities; invalid UTF-8 and NUL become U+FFFD; other C0 controls (but tab, LF,
//                 CR) and DEL become U+FFFD too, so a value cannot end an attribute, open a tag
//                 or carry bytes a browser would reinterpret. Safe inside "..." and '...'.
//   url_encode    one path segment or one query-string value: every byte but the unreserved
//                 A-Z a-z 0-9 - . _ ~ is percent-encoded (so '/', '?', '&', '=', ':', '#' and
//                 spaces cannot change the URL's structure). The result is also HTML-safe.
//   Query         query-string parameters in order; str() gives "" or "?a=1&b=2" (encoded).
//   href          base_path + path (+ query): "/ops/db/tables/public/orders?page=2"; the caller
//                 encodes the path's variable segments with url_encode.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pgshift::console {

std::string html_escape(std::string_view text);

std::string url_encode(std::string_view part);

class Query {
 public:
  Query& add(std::string name, std::string value);
  std::string str() const;
  bool empty() const { return params_.empty(); }

 private:
  std::vector<std::pair<std::string, std::string>> params_;
};

// base_path is "" or "/prefix" (no trailing slash); path starts with '/'.
std::string href(std::string_view base_path, std::string_view path, const Query& query = {});

// <a href="..." [class="..."]>text</a> with the URL and the text escaped.
std::string link(std::string_view url, std::string_view text, std::string_view css_class = "");

}  // namespace pgshift::console
