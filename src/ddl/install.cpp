// Installing and removing the DDL-following mechanism on one database.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "ddl/ddl.hpp"
#include "ddl/install_sql.hpp"
#include "pg/error.hpp"
#include "pg/transaction.hpp"
#include "util/error.hpp"

namespace pgshift::ddl {
namespace {

constexpr std::string_view kInstalledSql = "SELECT to_regclass('pgshift.ddl_log') IS NOT NULL";
constexpr std::string_view kCapturingSql =
    "SELECT count(*) FROM pg_event_trigger WHERE evtname = 'pgshift_ddl_capture' AND evtenabled <> 'D'";
constexpr std::string_view kTruncateSql = "TRUNCATE pgshift.ddl_log, pgshift.ddl_outcome, pgshift.ddl_decision";
constexpr std::string_view kSettingsSql = R"sql(
INSERT INTO pgshift.ddl_settings (only_row, policy, exclude_schema, exclude_name)
VALUES (true, $1, ARRAY(SELECT jsonb_array_elements_text($2::jsonb)), ARRAY(SELECT jsonb_array_elements_text($3::jsonb)))
ON CONFLICT (only_row) DO UPDATE SET policy = EXCLUDED.policy, exclude_schema = EXCLUDED.exclude_schema,
                                     exclude_name = EXCLUDED.exclude_name
)sql";
constexpr std::string_view kSettingsSameSql = R"sql(
SELECT count(*) FROM pgshift.ddl_settings
 WHERE policy = $1 AND exclude_schema = ARRAY(SELECT jsonb_array_elements_text($2::jsonb))
   AND exclude_name = ARRAY(SELECT jsonb_array_elements_text($3::jsonb))
)sql";

void write_settings(pg::Connection& conn, const Settings& settings) {
  nlohmann::json schemas = nlohmann::json::array(), names = nlohmann::json::array();
  for (const auto& p : settings.excludes) {
    const std::string& text = p.text();
    size_t dot = text.find('.');
    schemas.push_back(dot == std::string::npos ? std::string("^.*$") : glob_to_regex(text.substr(0, dot)));
    names.push_back(glob_to_regex(dot == std::string::npos ? text : text.substr(dot + 1)));
  }
  // Unchanged settings write nothing: a re-run of sync start must not even move the slot.
  pg::Params params{to_string(settings.policy), schemas.dump(), names.dump()};
  if (conn.exec(kSettingsSameSql, params).scalar() == "1") return;
  conn.exec(kSettingsSql, params);
}

}  // namespace

std::string to_string(Policy policy) { return policy == Policy::hold ? "hold" : "follow"; }

Policy policy_from_string(const std::string& text) {
  if (text == "follow") return Policy::follow;
  if (text == "hold") return Policy::hold;
  throw UsageError(fmt::format("--ddl: '{}' is not a policy; use follow or hold", text));
}

catalog::TableRef log_table() { return {"pgshift", "ddl_log"}; }

Capability install(pg::Connection& conn, const Settings& settings, bool capture, bool fresh) {
  Capability result;
  pg::Transaction tx(conn);
  conn.exec_simple(detail::kInstallCoreSql);
  if (fresh) conn.exec(kTruncateSql);
  write_settings(conn, settings);
  if (capture) {
    conn.exec("SAVEPOINT pgshift_capture");
    try {
      conn.exec_simple(detail::kInstallCaptureSql);
      conn.exec("RELEASE SAVEPOINT pgshift_capture");
      result.capture = true;
    } catch (const pg::SqlError& e) {
      conn.exec("ROLLBACK TO SAVEPOINT pgshift_capture");
      result.why_not = fmt::format("role {} cannot create event triggers here ({})", conn.info().user(),
                                   e.server_message());
    }
  } else {
    result.why_not = "not asked";
  }
  tx.commit();
  return result;
}

void update_settings(pg::Connection& conn, const Settings& settings) {
  if (!installed(conn)) return;
  write_settings(conn, settings);
}

void uninstall(pg::Connection& conn) {
  pg::Transaction tx(conn);
  conn.exec_simple(detail::kUninstallSql);
  tx.commit();
}

bool installed(pg::Connection& conn) { return conn.exec(kInstalledSql).scalar() == "t"; }

bool capturing(pg::Connection& conn) { return conn.exec(kCapturingSql).scalar() != "0"; }

std::string glob_to_regex(const std::string& glob) {
  std::string out = "^";
  for (size_t i = 0; i < glob.size(); ++i) {
    char c = glob[i];
    switch (c) {
      case '*': out += ".*"; break;
      case '?': out += '.'; break;
      case '[': {
        size_t close = glob.find(']', i + 1);
        if (close == std::string::npos) {
          out += "\\[";
          break;
        }
        std::string set = glob.substr(i + 1, close - i - 1);
        if (!set.empty() && set[0] == '!') set[0] = '^';
        out += "[" + set + "]";
        i = close;
        break;
      }
      case '\\':
        if (i + 1 < glob.size()) {
          out += '\\';
          out += glob[++i];
        }
        break;
      default:
        if (std::string_view(".^$+(){}|").find(c) != std::string_view::npos) out += '\\';
        out += c;
    }
  }
  return out + "$";
}

}  // namespace pgshift::ddl
