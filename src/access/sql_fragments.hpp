// SQL fragments the access queries share, as string-literal macros so they concatenate into
// constexpr query text.
#pragma once

// The schemas pgshift treats as the user's: not the system's, not temp or toast. n is the
// pg_namespace alias.
#define PGSHIFT_USER_SCHEMA(n) \
  "(" n ".nspname NOT IN ('pg_catalog', 'information_schema') AND " n ".nspname NOT LIKE 'pg\\_%')"
