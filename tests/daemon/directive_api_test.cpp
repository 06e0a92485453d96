// Delivery of directive bodies (one envelope or an array) and the answer the
// secretariat gets back, through the function both API routes use.
#include "hiegate/daemon/directive_api.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "directive_fixture.hpp"
#include "policy/directive_kit.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

using nlohmann::json;
using policy::testing::DirectiveKit;

using testing::kUs;
policy::Time now() { return policy::parse_rfc3339("2026-11-21T09:05:00Z").value(); }

class DirectiveApiTest : public ::testing::Test {
 protected:
  DirectiveApiTest() { verifier.network = "nishitama"; }

  DirectiveService make() { return testing::make_directive_service(tmp.path(), kit, verifier); }
  std::string orders(std::uint64_t seq, const char* id) const {
    return DirectiveKit::orders_body(
        seq, json::array({{{"id", id}, {"action", "stop"}, {"audience", {kUs}}, {"reason", "failure"}}}));
  }
  json deliver(DirectiveService& svc, const std::string& body, unsigned expect_status) {
    const auto a = deliver_directives(svc, kUs, body, now(), "test", audit);
    EXPECT_EQ(a.status, expect_status) << a.body;
    return json::parse(a.body);
  }

  test::TempDir tmp;
  DirectiveKit kit;
  policy::VerifierOptions verifier;
  std::vector<std::string> audited;
  DirectiveAuditHook audit = [this](std::string_view source, std::size_t i,
                                    const Result<policy::Verdict>& v) {
    audited.push_back(std::string(source) + "#" + std::to_string(i) + ":" +
                      (v ? std::string(v->rejected() ? policy::code(v->reason) : "ok") : "error"));
  };
};

TEST_F(DirectiveApiTest, ArrayAppliedInOrderThenNoop) {
  DirectiveService svc = make();
  const std::string o = orders(1, "s1");
  const std::string hb = DirectiveKit::heartbeat_body(5, 1, o);
  const std::string body = "[" + kit.signed_orders(o) + "," + kit.signed_heartbeat(hb) + "]";
  json j = deliver(svc, body, 200);
  EXPECT_EQ(j["facility"], kUs);
  EXPECT_EQ(j["keyset_version"], 1);
  EXPECT_EQ(j["orders_sequence"], 1);
  EXPECT_EQ(j["heartbeat_sequence"], 5);
  EXPECT_EQ(j["mode"], "stopped");
  EXPECT_EQ(j["failsafe"], false);
  ASSERT_EQ(j["results"].size(), 2u);
  EXPECT_EQ(j["results"][0]["kind"], "orders");
  EXPECT_EQ(j["results"][0]["decision"], "accept");
  EXPECT_EQ(j["results"][1]["kind"], "heartbeat");
  EXPECT_FALSE(j.contains("error"));
  EXPECT_EQ(audited, (std::vector<std::string>{"test#0:ok", "test#1:ok"}));

  j = deliver(svc, kit.signed_orders(o), 200);  // one envelope, again: a no-op
  EXPECT_EQ(j["results"][0]["decision"], "noop");
}

TEST_F(DirectiveApiTest, RejectionsAnswerWithTheFirstReason) {
  DirectiveService svc = make();
  deliver(svc, kit.signed_orders(orders(2, "s1")), 200);
  // Same sequence, other body: conflicts with the stored state.
  json j = deliver(svc, kit.signed_orders(orders(2, "other")), 409);
  EXPECT_EQ(j["error"]["code"], "equivocation");
  EXPECT_EQ(j["orders_sequence"], 2);
  j = deliver(svc, kit.signed_orders(orders(1, "s1")), 409);
  EXPECT_EQ(j["error"]["code"], "rollback");

  // One signature below the threshold, followed by a good set: the good one
  // still applies, the answer reports the first failure.
  const std::string weak =
      DirectiveKit::sign(policy::DocumentKind::orders, orders(3, "w"), {&kit.orders[0]});
  j = deliver(svc, "[" + weak + "," + kit.signed_orders(orders(4, "s4")) + "]", 422);
  EXPECT_EQ(j["error"]["code"], "threshold");
  EXPECT_EQ(j["results"][0]["reason"], "threshold");
  EXPECT_EQ(j["results"][1]["decision"], "accept");
  EXPECT_EQ(j["orders_sequence"], 4);
}

TEST_F(DirectiveApiTest, MalformedBodyAppliesNothing) {
  DirectiveService svc = make();
  for (const char* bad : {"", "not json", "[]", "[1]", "{\"payloadType\":1}"}) {
    const auto a = deliver_directives(svc, kUs, bad, now(), "test", {});
    EXPECT_NE(a.status, 200u) << bad;
  }
  EXPECT_EQ(deliver(svc, "[]", 400)["error"]["code"], "malformed");
  EXPECT_EQ(audited, (std::vector<std::string>{"test#0:malformed"}));
  EXPECT_EQ(deliver(svc, "not json", 400)["results"].size(), 0u);
  EXPECT_TRUE(svc.snapshot()->failsafe);
  EXPECT_FALSE(svc.snapshot()->state.orders.has_value());
}

// A body whose JSON strings are not UTF-8 (a Shift_JIS error page, random
// bytes) is a malformed delivery like any other: a clear 400 whose message
// cannot break the answer's JSON, nothing applied.
TEST_F(DirectiveApiTest, ABodyThatIsNotUtf8IsMalformed) {
  DirectiveService svc = make();
  for (const std::string& bad : {std::string("[\"\x82\xa0\"]"), std::string("{\"a\":\"\xff\"}"),
                                std::string("\x83\x47\x83\x89\x81\x5b")}) {
    DeliveryAnswer a;
    ASSERT_NO_THROW(a = deliver_directives(svc, kUs, bad, now(), "test", audit));
    EXPECT_EQ(a.status, 400U) << a.body;
    const json j = json::parse(a.body, nullptr, false);
    ASSERT_TRUE(j.is_object()) << a.body;
    EXPECT_EQ(j["error"]["code"], "malformed");
  }
  EXPECT_FALSE(svc.snapshot()->state.orders.has_value());
}

TEST_F(DirectiveApiTest, LocalHandlerAnswersLikeThePeerRoute) {
  DirectiveService svc = make();
  Handler h = directives_local_handler(svc, kUs, now, audit);
  ApiRequest req;
  req.token_name = "ops";
  req.msg.body() = kit.signed_orders(orders(1, "s1"));
  HttpResponse got;
  h(req, Responder([&](HttpResponse r, std::shared_ptr<transport::BodyStream>) { got = std::move(r); }));
  EXPECT_EQ(got.result_int(), 200u);
  EXPECT_EQ(json::parse(got.body())["orders_sequence"], 1);
  EXPECT_EQ(audited, (std::vector<std::string>{"local ops#0:ok"}));

  const auto route = directives_peer_route(svc, kUs, now, {});
  EXPECT_EQ(route.method, "PUT");
  EXPECT_EQ(route.path, "/peer/v1/directives");
  EXPECT_EQ(route.allowed, transport::Caller::secretariat);
  transport::PeerRequest preq;
  preq.body = "nonsense";
  unsigned status = 0;
  route.async_handler(preq, [&](transport::PeerResponse r) { status = r.status; });
  EXPECT_EQ(status, 400u);
}

// An order is obeyed at once, but the secretariat's answer waits until the
// record of every envelope delivered is durable; a record that cannot be
// written turns the answer into 503 audit_unavailable (what was applied
// stays applied), so the sender delivers again.
TEST_F(DirectiveApiTest, TheAnswerWaitsForTheRecordsOfEveryEnvelope) {
  DirectiveService svc = make();
  std::vector<std::pair<AuditRecord, std::function<void(Status)>>> pending;
  const AuditAppend append = [&](AuditRecord r, std::function<void(Status)> durable) {
    pending.emplace_back(std::move(r), std::move(durable));
  };
  const auto route = directives_peer_route(svc, kUs, now, audit, append);
  const std::string o = orders(1, "s1");
  transport::PeerRequest preq;
  preq.body = "[" + kit.signed_orders(o) + "," + kit.signed_heartbeat(DirectiveKit::heartbeat_body(5, 1, o)) + "]";
  std::optional<transport::PeerResponse> answer;
  route.async_handler(preq, [&](transport::PeerResponse r) { answer = std::move(r); });
  ASSERT_EQ(pending.size(), 2U);
  EXPECT_EQ(pending[0].first.event, "directive");
  EXPECT_EQ(pending[0].first.reason_code, "accept");
  EXPECT_EQ(svc.mode(kUs, now()).summary(), "stopped");  // obeyed before any record is durable
  EXPECT_FALSE(answer);
  pending[1].second(Status{});
  EXPECT_FALSE(answer);  // one record still pending
  pending[0].second(Status{});
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->status, 200U) << answer->body;
  EXPECT_EQ(audited, (std::vector<std::string>{"peer " + preq.peer.uri() + "#0:ok", "peer " + preq.peer.uri() + "#1:ok"}));

  // The same through the local API, with a trail that cannot be written.
  pending.clear();
  Handler h = directives_local_handler(svc, kUs, now, {}, append);
  ApiRequest req;
  req.token_name = "ops";
  req.msg.body() = kit.signed_orders(orders(2, "s2"));
  std::optional<HttpResponse> got;
  h(req, Responder([&](HttpResponse r, std::shared_ptr<transport::BodyStream>) { got = std::move(r); }));
  ASSERT_EQ(pending.size(), 1U);
  EXPECT_FALSE(got);
  pending[0].second(make_error("io_error", "disk full"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->result_int(), 503U);
  const json j = json::parse(got->body());
  EXPECT_EQ(j["error"]["code"], "audit_unavailable");
  EXPECT_EQ(j["orders_sequence"], 2);  // applied all the same
}

}  // namespace
}  // namespace hiegate::daemon

namespace hiegate::daemon {
namespace {

TEST(DirectiveAuditRecord, EveryVerdictBecomesARecord) {
  policy::Verdict ok;
  ok.decision = policy::Outcome::accept;
  ok.kind = policy::DocumentKind::orders;
  ok.sequence = 42;
  AuditRecord r = directive_audit_record("peer hie://nishitama/secretariat", 1, ok);
  EXPECT_EQ(r.event, "directive");
  EXPECT_EQ(r.action, AuditAction::update);
  EXPECT_EQ(r.outcome, AuditOutcome::success);
  EXPECT_EQ(r.reason_code, "accept");
  EXPECT_EQ(r.detail, "peer hie://nishitama/secretariat#1 orders sequence 42");

  policy::Verdict eq = ok;
  eq.decision = policy::Outcome::reject;
  eq.reason = policy::RejectReason::equivocation;
  r = directive_audit_record("file", 0, eq);
  EXPECT_EQ(r.reason_code, "equivocation");
  EXPECT_EQ(r.outcome, AuditOutcome::serious_failure);

  eq.reason = policy::RejectReason::rollback;
  EXPECT_EQ(directive_audit_record("file", 0, eq).outcome, AuditOutcome::minor_failure);
  EXPECT_EQ(directive_audit_record("file", 0, eq).reason_code, "rollback");

  const Result<policy::Verdict> failed = make_error("store_write_failed", "disk full");
  r = directive_audit_record("local ops", 2, failed);
  EXPECT_EQ(r.reason_code, "store_write_failed");
  EXPECT_EQ(r.outcome, AuditOutcome::serious_failure);
}

}  // namespace
}  // namespace hiegate::daemon
