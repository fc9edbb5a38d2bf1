// Statements sent to the server together and answered in one round trip (libpq pipeline mode,
// one Sync at the end; PostgreSQL 14's libpq, any v3 server). The engine sends DECLARE and the
// first FETCH this way.
//
// Each statement goes with the extended protocol (bound parameters, one statement per text, as
// pg::Connection::exec). Results come back in order, each checked as exec() checks it: the
// first statement that failed throws its pg::SqlError (the later ones were skipped by the
// server). Whatever happens, the connection leaves pipeline mode with nothing pending before
// this returns or throws (unless the connection broke; pg::Connection::reset() clears that).
#pragma once

#include <string>
#include <vector>

#include "pg/connection.hpp"

namespace pgshift::query {

struct Pipelined {
  std::string sql;
  pg::Params params;
};

std::vector<pg::Result> exec_pipelined(pg::Connection& conn, const std::vector<Pipelined>& statements);

// Prepares sql as the unnamed statement and describes it, in one round trip: the result has the
// statement's columns (names, type OIDs, typmods, PQfsize) and no rows. Parameters $n are typed
// by the server as PQexecParams would. Throws the prepare's pg::SqlError (positions in sql).
pg::Result describe_unnamed(pg::Connection& conn, const std::string& sql);

}  // namespace pgshift::query
