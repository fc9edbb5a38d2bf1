// html_escape, url_encode and the link helpers of console/html.hpp.
#include "console/html.hpp"

#include "util/utf8.hpp"

namespace pgshift::console {

std::string html_escape(std::string_view text) {
  constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    size_t n = util::utf8_sequence_length(text, i);
    if (n == 0) {
      out += kReplacement;
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text, i, n);
      i += n;
      continue;
    }
    char c = text[i++];
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      case '\t':
      case '\n':
      case '\r': out += c; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
          out += kReplacement;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string url_encode(std::string_view part) {
  constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(part.size());
  for (char ch : part) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                      c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xF];
    }
  }
  return out;
}

Query& Query::add(std::string name, std::string value) {
  params_.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string Query::str() const {
  std::string out;
  for (const auto& [name, value] : params_) {
    out += out.empty() ? '?' : '&';
    out += url_encode(name) + "=" + url_encode(value);
  }
  return out;
}

std::string href(std::string_view base_path, std::string_view path, const Query& query) {
  return std::string(base_path) + std::string(path) + query.str();
}

std::string link(std::string_view url, std::string_view text, std::string_view css_class) {
  std::string out = "<a href=\"" + html_escape(url) + "\"";
  if (!css_class.empty()) out += " class=\"" + html_escape(css_class) + "\"";
  return out + ">" + html_escape(text) + "</a>";
}

}  // namespace pgshift::console
