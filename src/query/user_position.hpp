// A server error's position moved onto the user's text. A statement the user wrote (`statement`,
// found verbatim in the user's text `sql`, as the gate split it) was sent as prefix + statement;
// the server's position counts characters in that text. on_user_text() returns the error with
// the position under what the user wrote, or with none (0) when it points into the prefix or
// the statement is not in sql verbatim (a statement the gate rewrote). Errors without a position
// come back unchanged.
#pragma once

#include <string>
#include <string_view>

#include "pg/error.hpp"

namespace pgshift::query {

pg::SqlError on_user_text(const pg::SqlError& e, std::string_view prefix, std::string_view sql,
                          const std::string& statement);

}  // namespace pgshift::query
