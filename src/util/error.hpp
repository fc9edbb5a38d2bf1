// pgshift's error hierarchy. Every failure that reaches main() is a pgshift::Error whose
// exit_code() decides the process exit status (see DESIGN.md):
//   0 ok, 1 a check found problems, 2 usage, 3 runtime error (cannot connect, SQL error).
// Messages say what failed, where (redacted endpoint, table) and what to do next, on one line.
#pragma once

#include <stdexcept>
#include <string>

namespace pgshift {

enum class ExitCode : int {
  ok = 0,
  problems_found = 1,  // a check failed: hazard, mismatch, failed gate
  usage = 2,           // bad flags, bad plan file, invalid argument
  runtime = 3,         // cannot connect, SQL error, I/O error
};

class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ExitCode exit_code() const { return code_; }

 private:
  ExitCode code_;
};

// Bad input from the user: flags, plan files, values. Exit 2.
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(ExitCode::usage, message) {}
};

// Something failed while running: I/O, a server, a timeout. Exit 3.
class RuntimeError : public Error {
 public:
  explicit RuntimeError(const std::string& message) : Error(ExitCode::runtime, message) {}
};

// A check ran to completion and found problems the operator must act on. Exit 1.
class ProblemsFound : public Error {
 public:
  explicit ProblemsFound(const std::string& message) : Error(ExitCode::problems_found, message) {}
};

}  // namespace pgshift
