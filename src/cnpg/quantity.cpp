// Kubernetes resource quantities (k8s.io/apimachinery resource.ParseQuantity): a signed decimal
// number, then a binary suffix (Ki Mi Gi Ti Pi Ei), a decimal suffix (n u m "" k M G T P E) or a
// decimal exponent (e3, E-2). "250GB", "1.5 Gi" and "10gi" are not quantities.
#include <cmath>
#include <cstdlib>

#include "cnpg/cnpg.hpp"

namespace pgshift::cnpg {

std::optional<double> parse_quantity(const std::string& text) {
  size_t i = 0;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) ++i;
  size_t digits = 0, dots = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) {
    (text[i] == '.' ? dots : digits) += 1;
    ++i;
  }
  if (digits == 0 || dots > 1) return std::nullopt;
  const double number = std::strtod(text.substr(0, i).c_str(), nullptr);
  const std::string suffix = text.substr(i);
  static const std::vector<std::pair<std::string, double>> units = {
      {"", 1.0},     {"Ki", 1024.0},    {"Mi", 1048576.0}, {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}, {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3},
      {"k", 1e3},    {"M", 1e6},        {"G", 1e9},        {"T", 1e12},          {"P", 1e15}, {"E", 1e18}};
  for (const auto& [unit, factor] : units) {
    if (suffix == unit) return number * factor;
  }
  if (suffix.size() >= 2 && (suffix[0] == 'e' || suffix[0] == 'E')) {
    size_t j = 1;
    if (suffix[j] == '+' || suffix[j] == '-') ++j;
    if (j == suffix.size()) return std::nullopt;
    for (size_t k = j; k < suffix.size(); ++k) {
      if (!std::isdigit(static_cast<unsigned char>(suffix[k]))) return std::nullopt;
    }
    return number * std::pow(10.0, std::strtod(suffix.c_str() + 1, nullptr));
  }
  return std::nullopt;
}

}  // namespace pgshift::cnpg
