#include "util/redact.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

namespace pgshift::util {
namespace {

std::mutex& secrets_mutex() {
  static std::mutex m;
  return m;
}

std::vector<std::string>& secrets() {
  static std::vector<std::string> s;
  return s;
}

}  // namespace

void register_secret(std::string_view secret) {
  if (secret.size() < 3) return;
  std::lock_guard lock(secrets_mutex());
  auto& all = secrets();
  if (std::find(all.begin(), all.end(), secret) != all.end()) return;
  all.emplace_back(secret);
  // Longest first, so a secret that contains another is replaced whole.
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

std::string redact(std::string_view text) {
  std::string out(text);
  std::lock_guard lock(secrets_mutex());
  for (const auto& secret : secrets()) {
    for (size_t pos = out.find(secret); pos != std::string::npos;
         pos = out.find(secret, pos + kRedacted.size())) {
      out.replace(pos, secret.size(), kRedacted);
    }
  }
  return out;
}

}  // namespace pgshift::util
