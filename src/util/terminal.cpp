#include "util/terminal.hpp"

#include <unistd.h>

#include <cstdlib>

namespace pgshift::util {

bool is_tty(std::FILE* stream) { return isatty(fileno(stream)) != 0; }

std::string paint(std::string_view text, Color color) {
  static const bool enabled = is_tty(stdout) && std::getenv("NO_COLOR") == nullptr &&
                              std::string_view(std::getenv("TERM") ? std::getenv("TERM") : "") != "dumb";
  if (!enabled || color == Color::none) return std::string(text);
  const char* code = "";
  switch (color) {
    case Color::red: code = "\033[31m"; break;
    case Color::yellow: code = "\033[33m"; break;
    case Color::green: code = "\033[32m"; break;
    case Color::cyan: code = "\033[36m"; break;
    case Color::dim: code = "\033[2m"; break;
    case Color::bold: code = "\033[1m"; break;
    case Color::none: break;
  }
  return std::string(code) + std::string(text) + "\033[0m";
}

}  // namespace pgshift::util
