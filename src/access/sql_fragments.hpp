// SQL fragments the access queries share, as string-literal macros so they concatenate into
// constexpr query text.
#pragma once

// The schemas pgshift treats as the user's: not the system's, not temp or toast. n is the
// pg_namespace alias.
#define PGSHIFT_USER_SCHEMA(n) \
  "(" n ".nspname NOT IN ('pg_catalog', 'information_schema') AND " n ".nspname NOT LIKE 'pg\\_%')"

// A routine that runs with its owner's rights and can be called: SECURITY DEFINER, in a user
// schema, not a trigger or event-trigger function (those run only from a trigger, e.g. pgaudit's
// pgaudit_ddl_command_end and pgaudit_sql_drop). p: pg_proc alias, n: its pg_namespace alias.
#define PGSHIFT_CALLABLE_DEFINER(p, n)                                              \
  "(" p ".prosecdef AND " PGSHIFT_USER_SCHEMA(n) " AND " p ".prorettype NOT IN "      \
  "('pg_catalog.trigger'::regtype, 'pg_catalog.event_trigger'::regtype))"

// A routine's name and identity arguments as GRANT ... ON ROUTINE takes them after the schema.
#define PGSHIFT_DEFINER_SIGNATURE(p) \
  "(quote_ident(" p ".proname) || '(' || pg_get_function_identity_arguments(" p ".oid) || ')')"
