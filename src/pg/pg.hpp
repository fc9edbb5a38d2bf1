// The libpq layer in one include: ConnInfo, Connection, Result, Lsn, quoting, transactions and
// the errors they raise.
#pragma once

#include "pg/conninfo.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "pg/lsn.hpp"
#include "pg/quote.hpp"
#include "pg/result.hpp"
#include "pg/transaction.hpp"
