// The operating mode as /metrics shows it.
#include <gtest/gtest.h>

#include "hiegate/daemon/metrics.hpp"
#include "hiegate/daemon/mode_api.hpp"

namespace hiegate::daemon {
namespace {

TEST(ModeMetrics, ShowStateFunctionsStopsAndFreshness) {
  policy::OperatingMode m;
  m.allowed = policy::FunctionSet::all();
  Metrics metrics;
  add_mode_metrics(metrics, [&m] { return m; });
  std::string text = metrics.render();
  EXPECT_NE(text.find("hiegate_mode{state=\"normal\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hiegate_mode{state=\"stopped\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_function_allowed{function=\"view\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_stopping_orders 0\n"), std::string::npos);
  EXPECT_NE(text.find("# TYPE hiegate_mode gauge\n"), std::string::npos);

  policy::StopCause stop;
  stop.order_id = "2026-0042";
  m.orders.stopped_by.push_back(stop);
  m.orders.allowed = policy::FunctionSet::none();
  m.allowed = policy::FunctionSet::none();
  m.freshness.stale = true;
  m.freshness.behind = true;
  text = metrics.render();
  EXPECT_NE(text.find("hiegate_mode{state=\"stopped\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("hiegate_mode{state=\"normal\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_function_allowed{function=\"view\"} 0\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_stopping_orders 1\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_directives_stale 1\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_directives_behind 1\n"), std::string::npos);
  EXPECT_NE(text.find("hiegate_directives_failsafe 0\n"), std::string::npos);
}

}  // namespace
}  // namespace hiegate::daemon
