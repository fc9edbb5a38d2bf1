// Terminal niceties for human output: whether a stream is a TTY and ANSI colour that turns
// itself off when it is not (or when NO_COLOR is set).
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace pgshift::util {

enum class Color { none, red, yellow, green, cyan, dim, bold };

bool is_tty(std::FILE* stream);

// Wraps text in colour codes when stdout is a colour-capable TTY; returns it unchanged otherwise.
std::string paint(std::string_view text, Color color);

}  // namespace pgshift::util
