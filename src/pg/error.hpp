// Errors raised by the libpq layer. Both are RuntimeErrors (exit 3). Messages are one line,
// name the redacted endpoint, and never contain a password.
#pragma once

#include <string>

#include "util/error.hpp"

namespace pgshift::pg {

// Could not open a connection: unreachable host, refused, wrong password, not PostgreSQL,
// missing database, timeout. what() reads "cannot connect to <endpoint>: <cause>".
class ConnectError : public RuntimeError {
 public:
  ConnectError(std::string endpoint, std::string cause);
  const std::string& endpoint() const { return endpoint_; }
  const std::string& cause() const { return cause_; }

 private:
  std::string endpoint_;
  std::string cause_;
};

// A statement failed on the server (or the connection broke while running it).
// what() reads "<endpoint>: <server message> (SQLSTATE <code>)".
// position(): the server's PG_DIAG_STATEMENT_POSITION, a 1-based character (not byte) offset
// into the statement text as sent; 0 when the server gave none. at_position() copies the error
// with another position, for a caller that sent the user's text inside a longer one.
class SqlError : public RuntimeError {
 public:
  SqlError(std::string endpoint, std::string sqlstate, std::string message, std::string detail = {},
           std::string hint = {}, int position = 0);
  const std::string& sqlstate() const { return sqlstate_; }
  int position() const { return position_; }
  SqlError at_position(int position) const;
  const std::string& server_message() const { return message_; }
  const std::string& detail() const { return detail_; }
  const std::string& hint() const { return hint_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  std::string endpoint_;
  std::string sqlstate_;
  std::string message_;
  std::string detail_;
  std::string hint_;
  int position_ = 0;
};

// Collapses libpq's multi-line messages into one line (newlines and tabs become spaces).
std::string one_line(std::string_view message);

}  // namespace pgshift::pg
