// suffixed_name: unique, valid resource names (names.hpp has the contract).
#include <cctype>

#include "cnpg/names.hpp"

namespace pgshift::cnpg {

std::string suffixed_name(const std::string& base, const std::string& suffix, size_t max_length) {
  auto clean = [](const std::string& text) {
    std::string out;
    for (char c : text) {
      auto u = static_cast<unsigned char>(c);
      out += std::isalnum(u) && u < 128 ? static_cast<char>(std::tolower(u)) : '-';
    }
    return out;
  };
  std::string tail = clean(suffix);
  std::string head = clean(base);
  size_t room = max_length > tail.size() + 1 ? max_length - tail.size() - 1 : 0;
  if (head.size() > room) head.resize(room);
  while (!head.empty() && head.back() == '-') head.pop_back();
  while (!head.empty() && !std::isalpha(static_cast<unsigned char>(head.front()))) head.erase(0, 1);
  if (head.empty()) return tail.substr(0, max_length);
  return head + "-" + tail;
}

}  // namespace pgshift::cnpg
