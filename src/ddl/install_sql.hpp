// Internal to the ddl room: the SQL objects of the DDL-following mechanism (see ddl.hpp).
#pragma once

#include <string_view>

namespace pgshift::ddl::detail {

// Tables, the statement splitter and classifier, and the apply trigger. Fixed text, run with the
// simple protocol inside one transaction; every object is created or replaced.
inline constexpr std::string_view kInstallCoreSql = R"sql(
CREATE SCHEMA IF NOT EXISTS pgshift;
CREATE TABLE IF NOT EXISTS pgshift.ddl_log (
  id uuid PRIMARY KEY,
  seq bigint NOT NULL,
  captured_at timestamptz NOT NULL,
  lsn pg_lsn,
  role_name text NOT NULL,
  search_path text NOT NULL,
  command_tag text NOT NULL,
  tables text[] NOT NULL,
  statement text NOT NULL,
  part int NOT NULL,
  verdict text NOT NULL CHECK (verdict IN ('follow', 'hold', 'skip')),
  reason text NOT NULL,
  statements text[] NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS pgshift.ddl_seq;
CREATE TABLE IF NOT EXISTS pgshift.ddl_settings (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  policy text NOT NULL CHECK (policy IN ('follow', 'hold')),
  exclude_schema text[] NOT NULL,
  exclude_name text[] NOT NULL
);
CREATE TABLE IF NOT EXISTS pgshift.ddl_outcome (
  id uuid PRIMARY KEY,
  outcome text NOT NULL,
  detail text NOT NULL DEFAULT '',
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS pgshift.ddl_decision (
  id uuid PRIMARY KEY,
  decision text NOT NULL CHECK (decision IN ('apply', 'skip')),
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);

-- Splits a query text into its statements (without the semicolons), honouring quotes, E''
-- strings, quoted identifiers, dollar quotes and (nested) comments. Works on the UTF-8 bytes so
-- each step is O(1): every character that matters is ASCII.
CREATE OR REPLACE FUNCTION pgshift.ddl_split(q text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  b bytea := convert_to(coalesce(q, ''), 'UTF8');
  n int := length(b);
  i int := 0;
  s int := 0;
  c int;
  j int;
  k int;
  depth int;
  tag bytea;
  escaped boolean;
  result text[] := '{}';
  piece text;
BEGIN
  WHILE i < n LOOP
    c := get_byte(b, i);
    IF c = 39 THEN
      escaped := i > 0 AND get_byte(b, i - 1) IN (69, 101)
                 AND (i = 1 OR NOT (get_byte(b, i - 2) BETWEEN 48 AND 57 OR get_byte(b, i - 2) BETWEEN 65 AND 90
                                    OR get_byte(b, i - 2) BETWEEN 97 AND 122 OR get_byte(b, i - 2) IN (36, 95)
                                    OR get_byte(b, i - 2) >= 128));
      j := i + 1;
      WHILE j < n LOOP
        IF escaped AND get_byte(b, j) = 92 THEN
          j := j + 2;
        ELSIF get_byte(b, j) = 39 THEN
          IF j + 1 < n AND get_byte(b, j + 1) = 39 THEN j := j + 2; ELSE EXIT; END IF;
        ELSE
          j := j + 1;
        END IF;
      END LOOP;
      i := j + 1;
    ELSIF c = 34 THEN
      j := i + 1;
      WHILE j < n LOOP
        IF get_byte(b, j) = 34 THEN
          IF j + 1 < n AND get_byte(b, j + 1) = 34 THEN j := j + 2; ELSE EXIT; END IF;
        ELSE
          j := j + 1;
        END IF;
      END LOOP;
      i := j + 1;
    ELSIF c = 45 AND i + 1 < n AND get_byte(b, i + 1) = 45 THEN
      k := position('\x0a'::bytea IN substring(b FROM i + 1));
      i := CASE WHEN k = 0 THEN n ELSE i + k END;
    ELSIF c = 47 AND i + 1 < n AND get_byte(b, i + 1) = 42 THEN
      depth := 1;
      j := i + 2;
      WHILE j < n AND depth > 0 LOOP
        IF get_byte(b, j) = 47 AND j + 1 < n AND get_byte(b, j + 1) = 42 THEN
          depth := depth + 1; j := j + 2;
        ELSIF get_byte(b, j) = 42 AND j + 1 < n AND get_byte(b, j + 1) = 47 THEN
          depth := depth - 1; j := j + 2;
        ELSE
          j := j + 1;
        END IF;
      END LOOP;
      i := j;
    ELSIF c = 36 AND NOT (i > 0 AND (get_byte(b, i - 1) BETWEEN 48 AND 57 OR get_byte(b, i - 1) BETWEEN 65 AND 90
                                     OR get_byte(b, i - 1) BETWEEN 97 AND 122 OR get_byte(b, i - 1) IN (36, 95)
                                     OR get_byte(b, i - 1) >= 128)) THEN
      j := i + 1;
      WHILE j < n AND (get_byte(b, j) BETWEEN 65 AND 90 OR get_byte(b, j) BETWEEN 97 AND 122 OR get_byte(b, j) = 95
                       OR get_byte(b, j) >= 128 OR (j > i + 1 AND get_byte(b, j) BETWEEN 48 AND 57)) LOOP
        j := j + 1;
      END LOOP;
      IF j < n AND get_byte(b, j) = 36 THEN
        tag := substring(b FROM i + 1 FOR j - i + 1);
        k := position(tag IN substring(b FROM j + 2));
        i := CASE WHEN k = 0 THEN n ELSE j + k + length(tag) END;
      ELSE
        i := i + 1;
      END IF;
    ELSIF c = 59 THEN
      piece := btrim(convert_from(substring(b FROM s + 1 FOR i - s), 'UTF8'), E' \t\r\n');
      IF piece <> '' THEN result := result || piece; END IF;
      i := i + 1;
      s := i;
    ELSE
      i := i + 1;
    END IF;
  END LOOP;
  IF s < n THEN
    piece := btrim(convert_from(substring(b FROM s + 1 FOR n - s), 'UTF8'), E' \t\r\n');
    IF piece <> '' THEN result := result || piece; END IF;
  END IF;
  RETURN result;
END
$pgshift$;

-- A statement without its leading comments and white space.
CREATE OR REPLACE FUNCTION pgshift.ddl_strip(stmt text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  t text := stmt;
  k int;
BEGIN
  LOOP
    t := ltrim(t, E' \t\r\n');
    IF left(t, 2) = '--' THEN
      k := strpos(t, E'\n');
      t := CASE WHEN k = 0 THEN '' ELSE substr(t, k + 1) END;
    ELSIF left(t, 2) = '/*' THEN
      k := strpos(t, '*/');
      t := CASE WHEN k = 0 THEN '' ELSE substr(t, k + 2) END;
    ELSE
      RETURN t;
    END IF;
  END LOOP;
END
$pgshift$;

-- What the other side must run for one statement: NULL for statements that change nothing
-- there (transaction control, session settings, LOCK), the statement itself for DDL (without
-- CONCURRENTLY, which cannot run inside the apply transaction), and 'mixed:<WORD>' for anything
-- else (row changes, which the stream already carries, or code whose effects cannot be told).
CREATE OR REPLACE FUNCTION pgshift.ddl_classify(stmt text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  t text := pgshift.ddl_strip(stmt);
  word text := upper(substring(t FROM '^[A-Za-z]+'));
BEGIN
  IF t = '' OR word IN ('BEGIN', 'START', 'COMMIT', 'END', 'ROLLBACK', 'ABORT', 'SAVEPOINT', 'RELEASE', 'SET',
                        'RESET', 'SHOW', 'LOCK', 'CHECKPOINT') THEN
    RETURN NULL;
  END IF;
  IF word IN ('CREATE', 'DROP') THEN
    RETURN regexp_replace(t, '^((CREATE|DROP)\s+(UNIQUE\s+)?INDEX\s+)CONCURRENTLY\s+', '\1', 'i');
  END IF;
  IF word = 'REINDEX' THEN
    RETURN regexp_replace(t, '\s+CONCURRENTLY\M', '', 'i');
  END IF;
  IF word = 'ALTER' THEN
    RETURN regexp_replace(t, '(DETACH\s+PARTITION\s+\S+)\s+CONCURRENTLY\s*$', '\1', 'i');
  END IF;
  IF word IN ('COMMENT', 'SECURITY', 'GRANT', 'REVOKE', 'REFRESH', 'IMPORT', 'CLUSTER') THEN
    RETURN t;
  END IF;
  RETURN 'mixed:' || coalesce(word, '?');
END
$pgshift$;

CREATE OR REPLACE FUNCTION pgshift.ddl_excluded(tbl text) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $pgshift$
  SELECT EXISTS (
    SELECT 1 FROM pgshift.ddl_settings s,
                  unnest(s.exclude_schema, s.exclude_name) AS p(sch, nam)
     WHERE split_part(tbl, '.', 1) ~ p.sch AND substr(tbl, length(split_part(tbl, '.', 1)) + 2) ~ p.nam)
$pgshift$;

-- Applies one DDL log entry here: run by the apply trigger below, and by pgshift's own apply
-- (logical/apply.hpp) when it may not run as replica (not a superuser), in the statement that
-- inserts the entry. It runs the statements as the role that ran them there when that role
-- exists here and the applying role may act as it, else as the applying role.
CREATE OR REPLACE FUNCTION pgshift.ddl_apply_entry(e pgshift.ddl_log) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  policy text;
  decision text;
  run_as text;
  stmt text;
  old_role text := current_setting('role');
  old_path text := current_setting('search_path');
  noted text[] := '{}';
BEGIN
  IF EXISTS (SELECT 1 FROM pgshift.ddl_outcome o WHERE o.id = e.id) THEN
    RETURN;
  END IF;
  IF e.part > 1 THEN
    INSERT INTO pgshift.ddl_outcome (id, outcome, detail) VALUES (e.id, 'covered', 'applied with part 1 of the same statement text');
    RETURN;
  END IF;
  SELECT s.policy INTO policy FROM pgshift.ddl_settings s;
  SELECT d.decision INTO decision FROM pgshift.ddl_decision d WHERE d.id = e.id;
  IF decision = 'skip' THEN
    INSERT INTO pgshift.ddl_outcome (id, outcome, detail) VALUES (e.id, 'skipped', 'skipped by the operator (pgshift sync ddl skip)');
    RETURN;
  END IF;
  IF decision IS NULL THEN
    IF e.verdict = 'skip' THEN
      INSERT INTO pgshift.ddl_outcome (id, outcome, detail) VALUES (e.id, 'not-applied', e.reason);
      RETURN;
    END IF;
    IF e.verdict = 'hold' OR policy = 'hold' THEN
      RAISE EXCEPTION 'pgshift: schema change % held: %', e.id,
        CASE WHEN e.verdict = 'hold' THEN e.reason ELSE '--ddl hold' END
        USING ERRCODE = 'P0001', DETAIL = left(e.statement, 2000),
              HINT = 'pgshift sync ddl apply ' || e.id || ' (runs it here) or pgshift sync ddl skip ' || e.id;
    END IF;
  END IF;
  IF EXISTS (SELECT 1 FROM pg_roles r WHERE r.rolname = e.role_name AND pg_has_role(current_user, r.oid, 'MEMBER')) THEN
    run_as := e.role_name;
  END IF;
  PERFORM set_config('search_path', e.search_path, true);
  IF run_as IS NOT NULL THEN
    PERFORM set_config('role', run_as, true);
  END IF;
  BEGIN
    FOREACH stmt IN ARRAY e.statements LOOP
      -- Already made here by hand (the operator ran the migration on both sides), or already
      -- gone: the end state is the one wanted, so note it and go on; drift shows any difference.
      BEGIN
        EXECUTE stmt;
      EXCEPTION
        WHEN duplicate_table OR duplicate_object OR duplicate_column OR duplicate_schema OR duplicate_function THEN
          noted := noted || ('already there: ' || SQLERRM);
        WHEN undefined_table OR undefined_object OR undefined_column THEN
          IF pgshift.ddl_strip(stmt) !~* '^DROP\M' THEN
            RAISE;
          END IF;
          noted := noted || ('already gone: ' || SQLERRM);
      END;
    END LOOP;
  EXCEPTION WHEN OTHERS THEN
    RAISE EXCEPTION 'pgshift: schema change % failed here: % (statement: %)', e.id, SQLERRM, left(stmt, 500)
      USING ERRCODE = SQLSTATE,
            HINT = 'fix the cause (the apply retries), or apply it by hand and run pgshift sync ddl skip ' || e.id;
  END;
  PERFORM set_config('role', old_role, true);
  PERFORM set_config('search_path', old_path, true);
  INSERT INTO pgshift.ddl_outcome (id, outcome, detail)
  VALUES (e.id, 'applied', CASE WHEN run_as IS NULL THEN 'as ' || current_user || ' (' || e.role_name || ' does not exist here, or ' || current_user || ' may not act as it)'
                                  ELSE 'as ' || run_as END
                             || CASE WHEN cardinality(noted) > 0 THEN '; ' || array_to_string(noted, '; ') ELSE '' END);
  RETURN;
END
$pgshift$;
-- The apply trigger: fires only in the logical replication apply worker (ENABLE REPLICA).
CREATE OR REPLACE FUNCTION pgshift.ddl_apply() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $pgshift$
BEGIN
  PERFORM pgshift.ddl_apply_entry(NEW);
  RETURN NULL;
END
$pgshift$;
DROP TRIGGER IF EXISTS pgshift_ddl_apply ON pgshift.ddl_log;
CREATE TRIGGER pgshift_ddl_apply AFTER INSERT ON pgshift.ddl_log FOR EACH ROW EXECUTE FUNCTION pgshift.ddl_apply();
ALTER TABLE pgshift.ddl_log ENABLE REPLICA TRIGGER pgshift_ddl_apply;
)sql";

// The capture side: two event triggers. SECURITY DEFINER so that any role's DDL can write the
// log (the function belongs to the superuser that installed it); it never runs user text.
inline constexpr std::string_view kInstallCaptureSql = R"sql(
CREATE OR REPLACE FUNCTION pgshift.ddl_capture_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  dropped text[];
BEGIN
  SELECT array_agg(DISTINCT CASE WHEN o.object_type IN ('table', 'foreign table', 'view', 'materialized view')
                                   THEN o.schema_name || '.' || o.object_name
                                 ELSE o.address_names[1] || '.' || o.address_names[2] END)
    INTO dropped
    FROM pg_event_trigger_dropped_objects() o
   WHERE o.object_type IN ('table', 'foreign table', 'view', 'materialized view', 'table column', 'table constraint',
                           'trigger', 'policy', 'rule')
     AND o.schema_name IS DISTINCT FROM 'pgshift';
  PERFORM set_config('pgshift.ddl_dropped',
                     array_to_string(ARRAY(SELECT DISTINCT x FROM unnest(
                       coalesce(string_to_array(nullif(current_setting('pgshift.ddl_dropped', true), ''), E'\x1f'), '{}')
                       || coalesce(dropped, '{}')) x WHERE x IS NOT NULL), E'\x1f'),
                     true);
END
$pgshift$;

-- The event trigger's function runs as the client, without a search_path of its own, only to
-- read the client's role and search_path (a SECURITY DEFINER function with a fixed search_path
-- would see its own) and hand them to pgshift.ddl_record, which does the rest.
CREATE OR REPLACE FUNCTION pgshift.ddl_capture() RETURNS event_trigger
LANGUAGE plpgsql AS $pgshift$
BEGIN
  PERFORM pgshift.ddl_record(pg_catalog.current_setting('search_path'), pg_catalog."current_user"()::text, tg_tag);
END
$pgshift$;

CREATE OR REPLACE FUNCTION pgshift.ddl_record(client_search_path text, client_role text, tg_tag text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $pgshift$
DECLARE
  q text := coalesce(current_query(), '');
  key text;
  part int;
  touched text[];
  own_only boolean;
  pieces text[];
  piece text;
  run text[] := '{}';
  mixed text[] := '{}';
  verdict text := 'follow';
  reason text := '';
  policy text;
  excluded int;
BEGIN
  -- pgshift's own sessions ("pgshift", "pgshift/<command>", and the sync's helpers "pgshift copy",
  -- "pgshift index build", "pgshift snapshot <slot>": the rebuild of the target's indexes and
  -- constraints after the copy is not the application's schema change).
  IF current_setting('application_name') ~ '^pgshift([/ ]|$)'
     OR tg_tag IN ('CREATE PUBLICATION', 'ALTER PUBLICATION', 'DROP PUBLICATION', 'CREATE SUBSCRIPTION',
                   'ALTER SUBSCRIPTION', 'DROP SUBSCRIPTION') THEN
    RETURN;
  END IF;
  SELECT array_agg(DISTINCT n.nspname || '.' || r.relname), bool_and(c.schema_name = 'pgshift')
    INTO touched, own_only
    FROM pg_event_trigger_ddl_commands() c
    LEFT JOIN LATERAL (
      SELECT CASE
        WHEN c.classid = 'pg_class'::regclass THEN coalesce((SELECT i.indrelid FROM pg_index i WHERE i.indexrelid = c.objid), c.objid)
        WHEN c.classid = 'pg_constraint'::regclass THEN (SELECT x.conrelid FROM pg_constraint x WHERE x.oid = c.objid)
        WHEN c.classid = 'pg_trigger'::regclass THEN (SELECT x.tgrelid FROM pg_trigger x WHERE x.oid = c.objid)
        WHEN c.classid = 'pg_rewrite'::regclass THEN (SELECT x.ev_class FROM pg_rewrite x WHERE x.oid = c.objid)
        WHEN c.classid = 'pg_policy'::regclass THEN (SELECT x.polrelid FROM pg_policy x WHERE x.oid = c.objid)
        WHEN c.classid = 'pg_attrdef'::regclass THEN (SELECT x.adrelid FROM pg_attrdef x WHERE x.oid = c.objid)
      END AS relid) rel ON true
    LEFT JOIN pg_class r ON r.oid = rel.relid AND r.relkind IN ('r', 'p', 'f', 'v', 'm')
    LEFT JOIN pg_namespace n ON n.oid = r.relnamespace;
  IF own_only THEN
    RETURN;
  END IF;
  touched := ARRAY(SELECT DISTINCT x FROM unnest(coalesce(touched, '{}') || coalesce(
                     string_to_array(nullif(current_setting('pgshift.ddl_dropped', true), ''), E'\x1f'), '{}')) x
                   WHERE x IS NOT NULL AND x NOT LIKE 'pgshift.%' ORDER BY x);
  PERFORM set_config('pgshift.ddl_dropped', '', true);

  -- One client statement text may hold several commands: the first applies the whole text.
  key := txid_current()::text || '/' || statement_timestamp()::text || '/' || md5(q);
  IF current_setting('pgshift.ddl_key', true) IS DISTINCT FROM key THEN
    part := 1;
    PERFORM set_config('pgshift.ddl_key', key, true);
  ELSE
    part := coalesce(nullif(current_setting('pgshift.ddl_part', true), ''), '1')::int + 1;
  END IF;
  PERFORM set_config('pgshift.ddl_part', part::text, true);

  BEGIN
    pieces := pgshift.ddl_split(q);
    FOREACH piece IN ARRAY pieces LOOP
      piece := pgshift.ddl_classify(piece);
      IF piece IS NULL THEN CONTINUE; END IF;
      IF piece LIKE 'mixed:%' THEN
        mixed := mixed || substr(piece, 7);
      ELSE
        run := run || piece;
      END IF;
    END LOOP;
    SELECT count(*) INTO excluded FROM unnest(touched) t WHERE pgshift.ddl_excluded(t);
    SELECT s.policy INTO policy FROM pgshift.ddl_settings s;
    IF tg_tag IN ('GRANT', 'REVOKE', 'ALTER DEFAULT PRIVILEGES') THEN
      verdict := 'skip';
      reason := 'privileges are not followed (the roles of the two sides differ): grant on the other side by hand if it needs it';
    ELSIF excluded > 0 AND excluded = cardinality(touched) THEN
      verdict := 'skip';
      reason := 'it changes only excluded table(s): ' || array_to_string(touched, ', ');
    ELSIF excluded > 0 THEN
      verdict := 'hold';
      reason := 'it changes excluded and replicated tables at once: ' || array_to_string(touched, ', ');
    ELSIF cardinality(mixed) > 0 AND cardinality(run) > 0 THEN
      verdict := 'hold';
      reason := 'the statement text also runs ' || array_to_string(mixed, ', ')
                || ', whose row changes replication already carries: apply runs only its DDL statements';
    ELSIF cardinality(mixed) > 0 THEN
      verdict := 'hold';
      reason := 'the DDL ran inside ' || array_to_string(mixed, ', ')
                || ' (a function or DO block), whose other effects cannot be told apart: apply runs that text here';
      run := ARRAY(SELECT pgshift.ddl_strip(p) FROM unnest(pieces) p
                    WHERE pgshift.ddl_classify(p) IS NOT NULL);
    ELSIF cardinality(run) = 0 THEN
      verdict := 'hold';
      reason := 'no DDL statement was found in the statement text';
    ELSIF policy = 'hold' THEN
      verdict := 'hold';
      reason := '--ddl hold';
    END IF;
  EXCEPTION WHEN OTHERS THEN
    verdict := 'hold';
    reason := 'pgshift could not classify it: ' || SQLERRM;
    run := ARRAY[q];
  END;

  INSERT INTO pgshift.ddl_log (id, seq, captured_at, lsn, role_name, search_path, command_tag, tables, statement, part,
                               verdict, reason, statements)
  VALUES (gen_random_uuid(), nextval('pgshift.ddl_seq'), clock_timestamp(), pg_current_wal_insert_lsn(), client_role,
          client_search_path, tg_tag, touched, q, part, verdict, reason, run);
END
$pgshift$;

DROP EVENT TRIGGER IF EXISTS pgshift_ddl_capture;
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_capture_drop;
CREATE EVENT TRIGGER pgshift_ddl_capture_drop ON sql_drop EXECUTE FUNCTION pgshift.ddl_capture_drop();
CREATE EVENT TRIGGER pgshift_ddl_capture ON ddl_command_end EXECUTE FUNCTION pgshift.ddl_capture();
)sql";

inline constexpr std::string_view kUninstallSql = R"sql(
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_capture;
DROP EVENT TRIGGER IF EXISTS pgshift_ddl_capture_drop;
DROP FUNCTION IF EXISTS pgshift.ddl_capture();
DROP FUNCTION IF EXISTS pgshift.ddl_record(text, text, text);
DROP FUNCTION IF EXISTS pgshift.ddl_capture_drop();
DROP FUNCTION IF EXISTS pgshift.ddl_apply_entry(pgshift.ddl_log);  -- before the table: it takes its row type
DROP TABLE IF EXISTS pgshift.ddl_log;
DROP TABLE IF EXISTS pgshift.ddl_outcome;
DROP TABLE IF EXISTS pgshift.ddl_decision;
DROP TABLE IF EXISTS pgshift.ddl_settings;
DROP SEQUENCE IF EXISTS pgshift.ddl_seq;
DROP FUNCTION IF EXISTS pgshift.ddl_apply();
DROP FUNCTION IF EXISTS pgshift.ddl_excluded(text);
DROP FUNCTION IF EXISTS pgshift.ddl_classify(text);
DROP FUNCTION IF EXISTS pgshift.ddl_strip(text);
DROP FUNCTION IF EXISTS pgshift.ddl_split(text);
)sql";

}  // namespace pgshift::ddl::detail
