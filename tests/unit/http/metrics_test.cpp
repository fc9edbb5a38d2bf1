#include <gtest/gtest.h>

#include <stdexcept>

#include "http/metrics.hpp"

using namespace pgshift::http;

TEST(HttpMetrics, RendersPrometheusText) {
  Metrics m;
  m.describe("pgshift_http_requests_total", "counter", "Requests by route and status");
  m.add("pgshift_http_requests_total", {{"route", "api_sql"}, {"status", "200"}});
  m.add("pgshift_http_requests_total", {{"route", "api_sql"}, {"status", "200"}});
  m.add("pgshift_http_requests_total", {{"route", "api_sql"}, {"status", "400"}});
  m.describe("pgshift_http_request_duration_seconds", "histogram", "Duration");
  m.observe("pgshift_http_request_duration_seconds", {{"route", "x"}}, 0.003);
  m.observe("pgshift_http_request_duration_seconds", {{"route", "x"}}, 0.2);
  m.add_collector([] { return std::vector<Sample>{{"pgshift_pg_up", "Database reachable", "gauge", {}, 1}}; });
  m.add_collector([]() -> std::vector<Sample> { throw std::runtime_error("db gone"); });
  std::string text = m.render();
  EXPECT_NE(text.find("# TYPE pgshift_http_requests_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("pgshift_http_requests_total{route=\"api_sql\",status=\"200\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgshift_http_requests_total{route=\"api_sql\",status=\"400\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE pgshift_http_request_duration_seconds histogram\n"), std::string::npos);
  EXPECT_NE(text.find("pgshift_http_request_duration_seconds_bucket{route=\"x\",le=\"0.005\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("pgshift_http_request_duration_seconds_bucket{route=\"x\",le=\"0.25\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgshift_http_request_duration_seconds_bucket{route=\"x\",le=\"+Inf\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("pgshift_http_request_duration_seconds_count{route=\"x\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE pgshift_pg_up gauge\npgshift_pg_up 1\n"), std::string::npos);
}

TEST(HttpMetrics, EscapesLabelValues) {
  EXPECT_EQ(render_labels({{"slot", "a\"b\\c\nd"}}), "{slot=\"a\\\"b\\\\c\\nd\"}");
  EXPECT_EQ(render_labels({}), "");
}
