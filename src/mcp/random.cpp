#include "mcp/random.hpp"

#include <random>

namespace pgshift::mcp {

std::string random_id(size_t bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  thread_local std::random_device device;  // libstdc++: getrandom(2) / /dev/urandom, never a PRNG
  std::string out;
  out.reserve(bytes * 2);
  while (out.size() < bytes * 2) {
    unsigned int r = device();
    for (int i = 0; i < 8 && out.size() < bytes * 2; ++i, r >>= 4) out += kHex[r & 0xf];
  }
  return out;
}

}  // namespace pgshift::mcp
