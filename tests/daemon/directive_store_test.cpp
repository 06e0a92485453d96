#include "hiegate/daemon/directive_store.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <set>
#include <string>

#include "policy/directive_kit.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using policy::Outcome;
using policy::DocumentKind;
using policy::testing::DirectiveKit;

class DirectiveStoreTest : public ::testing::Test {
 protected:
  DirectiveStoreTest() : store(DirectiveStore::open(tmp / "directives").value()) {
    options.network = "nishitama";
  }

  // Applies and persists as the daemon does; returns the verdict.
  policy::Verdict deliver(policy::DirectiveState& state, const std::string& env) {
    auto v =
        policy::apply(state, env, policy::parse_rfc3339("2026-11-21T09:05:00Z").value(), options);
    if (v.decision == Outcome::accept) {
      EXPECT_TRUE(store.persist(*v.kind, v.sequence, env).ok());
      state = *v.next;
    }
    return v;
  }

  test::TempDir tmp;
  DirectiveStore store;
  DirectiveKit kit;
  policy::VerifierOptions options;
  const std::string orders_body = DirectiveKit::orders_body(4, json::array(), 2);
};

TEST_F(DirectiveStoreTest, PersistsAndRestartsIntoTheSameState) {
  auto start = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(start.ok());
  policy::DirectiveState state = start->state;
  ASSERT_EQ(deliver(state, kit.keyset(2)).decision, Outcome::accept);
  ASSERT_EQ(deliver(state, kit.signed_orders(orders_body)).decision, Outcome::accept);
  ASSERT_EQ(
      deliver(state, kit.signed_heartbeat(DirectiveKit::heartbeat_body(
                         9, 4, orders_body, "2026-11-21T09:00:00Z", "2026-11-22T09:00:00Z", 2)))
          .decision,
      Outcome::accept);

  auto again = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->failsafe) << again->reason;
  EXPECT_EQ(again->state.keyset_version(), 2U);
  ASSERT_TRUE(again->state.orders.has_value());
  EXPECT_EQ(again->state.orders->envelope, state.orders->envelope);
  EXPECT_EQ(again->state.heartbeat->value.sequence, 9U);

  // Exactly the three files, private, no temp files left behind.
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(store.dir())) {
    names.insert(e.path().filename().string());
    struct stat st {};
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U) << e.path();
  }
  EXPECT_EQ(names, (std::set<std::string>{"keyset-2.json", "orders.json", "heartbeat.json"}));
}

TEST_F(DirectiveStoreTest, PersistReplacesWholeFile) {
  ASSERT_TRUE(store.persist(DocumentKind::orders, 1, std::string(5000, 'a')).ok());
  ASSERT_TRUE(store.persist(DocumentKind::orders, 2, "short").ok());
  EXPECT_EQ(test::read_file(store.dir() / "orders.json"), "short");
}

TEST_F(DirectiveStoreTest, NothingStoredIsFailsafeButDeliverable) {
  auto start = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(start.ok());
  EXPECT_TRUE(start->failsafe);
  EXPECT_NE(start->reason.find("no stored orders"), std::string::npos);
  // The secretariat can still deliver: the anchor is in place.
  policy::DirectiveState state = start->state;
  EXPECT_EQ(deliver(state, kit.signed_orders(DirectiveKit::orders_body(1, json::array()))).decision,
            Outcome::accept);
  auto after = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(after.ok());
  EXPECT_FALSE(after->failsafe) << after->reason;
}

TEST_F(DirectiveStoreTest, CorruptStoreIsFailsafeAndKeepsTheKeysetChain) {
  policy::DirectiveState state = start_directives(store, kit.keyset(1), options)->state;
  ASSERT_EQ(deliver(state, kit.keyset(2)).decision, Outcome::accept);
  ASSERT_EQ(deliver(state, kit.signed_orders(orders_body)).decision, Outcome::accept);
  std::string bytes = test::read_file(store.dir() / "orders.json");
  bytes[bytes.size() / 2] ^= 0x01;
  tmp.write("directives/orders.json", bytes);

  auto start = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(start.ok());
  EXPECT_TRUE(start->failsafe);
  EXPECT_NE(start->reason.find("failed verification"), std::string::npos) << start->reason;
  EXPECT_EQ(start->state.keyset_version(), 2U);
  EXPECT_FALSE(start->state.orders.has_value());
}

TEST_F(DirectiveStoreTest, OversizedFileIsFailsafe) {
  tmp.write("directives/orders.json", std::string((1 << 20) + 1, '{'));
  auto start = start_directives(store, kit.keyset(1), options);
  ASSERT_TRUE(start.ok());
  EXPECT_TRUE(start->failsafe);
  EXPECT_NE(start->reason.find("store_read_failed"), std::string::npos) << start->reason;
}

TEST_F(DirectiveStoreTest, BadTrustAnchorIsAnError) {
  auto start = start_directives(store, kit.keyset(2), options);
  ASSERT_FALSE(start.ok());
  EXPECT_EQ(start.error().code, "invalid");
  auto garbage = start_directives(store, "{", options);
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().code, "malformed");
}

TEST_F(DirectiveStoreTest, OpenAndWriteFailures) {
  const fs::path file = tmp.write("plain", "x");
  auto bad = DirectiveStore::open(file);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "store_unavailable");

  auto gone = DirectiveStore::open(tmp / "gone");
  ASSERT_TRUE(gone.ok());
  fs::remove(tmp / "gone");
  const Status s = gone->persist(DocumentKind::orders, 1, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, "store_write_failed");
}

}  // namespace
}  // namespace hiegate::daemon
