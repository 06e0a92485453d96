// Runs every conformance vector of shared/spec/directives.md (copied into
// tests/policy/vectors/directives/): trust anchor, then each step with its
// clock, then the expected effect on the facility.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/policy/directives.hpp"
#include "hiegate/policy/operating_mode.hpp"
#include "hiegate/policy/strict_json.hpp"

namespace hiegate::policy {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path vector_dir() {
  return fs::path(HIEGATE_TEST_DATA_DIR) / "policy" / "vectors" / "directives";
}

std::vector<std::string> vector_files() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(vector_dir())) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string decode_b64(const json& v) {
  const auto bytes = crypto::from_base64(v.get<std::string>());
  EXPECT_TRUE(bytes.has_value());
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

Time time_of(const json& v) {
  const auto t = parse_rfc3339(v.get<std::string>());
  EXPECT_TRUE(t.has_value()) << v;
  return t.value_or(Time{});
}

std::vector<std::string> strings(const json& v) {
  std::vector<std::string> out = v.get<std::vector<std::string>>();
  std::sort(out.begin(), out.end());
  return out;
}

class DirectiveVector : public ::testing::TestWithParam<std::string> {};

TEST_P(DirectiveVector, Conforms) {
  std::ifstream in(vector_dir() / GetParam(), std::ios::binary);
  ASSERT_TRUE(in) << GetParam();
  std::stringstream text;
  text << in.rdbuf();
  const json vec = json::parse(text.str());
  SCOPED_TRACE(vec.value("description", ""));

  VerifierOptions options;
  options.network = vec.at("network").get<std::string>();
  const std::string facility = vec.at("facility").get<std::string>();

  auto anchored = install_trust_anchor(decode_b64(vec.at("trust_anchor_b64")), options);
  const std::string anchor_expect = vec.at("trust_anchor_expect").get<std::string>();
  if (anchor_expect != "accept") {
    ASSERT_FALSE(anchored.ok()) << "trust anchor should be rejected with " << anchor_expect;
    EXPECT_EQ(anchored.error().code, anchor_expect) << anchored.error().message;
    return;
  }
  ASSERT_TRUE(anchored.ok()) << anchored.error().code << ": " << anchored.error().message;
  DirectiveState state = std::move(*anchored);

  std::size_t index = 0;
  for (const json& step : vec.at("steps")) {
    SCOPED_TRACE("step " + std::to_string(index++));
    const StoredEnvelopes before = envelopes_of(state);
    const Verdict v =
        apply(state, decode_b64(step.at("envelope_b64")), time_of(step.at("now")), options);
    // The input state is never modified.
    const StoredEnvelopes after = envelopes_of(state);
    EXPECT_EQ(before.keysets, after.keysets);
    EXPECT_EQ(before.orders, after.orders);
    EXPECT_EQ(before.heartbeat, after.heartbeat);
    const std::string expect = step.at("expect").get<std::string>();
    if (expect == "accept") {
      ASSERT_EQ(v.decision, Outcome::accept) << code(v.reason) << ": " << v.detail;
      ASSERT_TRUE(v.next.has_value());
      state = *v.next;
    } else if (expect == "noop") {
      EXPECT_EQ(v.decision, Outcome::noop) << code(v.reason) << ": " << v.detail;
      EXPECT_FALSE(v.next.has_value());
    } else {
      ASSERT_EQ(expect, "reject");
      EXPECT_EQ(v.decision, Outcome::reject) << v.detail;
      EXPECT_EQ(code(v.reason), step.at("reason").get<std::string>()) << v.detail;
      EXPECT_FALSE(v.next.has_value());
    }
  }

  // What was accepted survives a restart: re-verification gives the same state.
  auto restored = verify_stored(envelopes_of(state), options);
  ASSERT_TRUE(restored.ok()) << restored.error().code << ": " << restored.error().message;
  EXPECT_EQ(restored->keyset_version(), state.keyset_version());
  EXPECT_EQ(restored->sequence_floor(DocumentKind::orders),
            state.sequence_floor(DocumentKind::orders));
  EXPECT_EQ(restored->sequence_floor(DocumentKind::heartbeat),
            state.sequence_floor(DocumentKind::heartbeat));

  if (!vec.contains("expect_effect")) return;
  const json& want = vec.at("expect_effect");
  for (const DirectiveState* s : {&state, &*restored}) {
    const OrdersEffect e =
        orders_effect(s->orders ? &s->orders->value : nullptr, facility, time_of(want.at("at")));
    FunctionSet allowed;
    for (const json& f : want.at("allowed_functions"))
      allowed.insert(parse_function(f.get<std::string>()).value());
    EXPECT_EQ(e.allowed, allowed);
    std::vector<std::string> stopped;
    for (const StopCause& c : e.stopped_by) stopped.push_back(c.order_id);
    std::sort(stopped.begin(), stopped.end());
    EXPECT_EQ(stopped, strings(want.at("stopped_by")));
    EXPECT_EQ(e.suspended_users, strings(want.at("suspended_users")));
    EXPECT_EQ(e.suspended_facilities, strings(want.at("suspended_facilities")));
    EXPECT_EQ(e.disaster, want.at("disaster").get<bool>());
  }
}

INSTANTIATE_TEST_SUITE_P(Vectors, DirectiveVector, ::testing::ValuesIn(vector_files()),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                           std::string n = param.param.substr(0, param.param.size() - 5);
                           std::replace_if(
                               n.begin(), n.end(),
                               [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); },
                               '_');
                           return n;
                         });

TEST(DirectiveVectors, AllPresent) { EXPECT_GE(vector_files().size(), 65U); }

}  // namespace
}  // namespace hiegate::policy
