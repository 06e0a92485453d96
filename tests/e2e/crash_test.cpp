// A gateway killed with SIGKILL in the middle of transfers (large documents
// being published by its EHR and fetched by another facility) and restarted:
// its store opens and checks clean, every acknowledged write is there, the
// audit chain verifies, and the orders in force before the kill still are.
#include <atomic>
#include <mutex>
#include <thread>

#include "e2e/e2e_kit.hpp"
#include "integration/state_kit.hpp"

namespace hiegate::test::e2e {
namespace {

using namespace std::chrono_literals;


/// A FHIR Binary of about `size` bytes, different for each `seed`.
std::string large_document(std::size_t size, unsigned seed) {
  std::string data;
  data.reserve(size);
  std::uint64_t x = 0x9E3779B97F4A7C15ULL * (seed + 1);
  while (data.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    data += "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"[x % 64];
  }
  return R"({"resourceType":"Binary","contentType":"application/octet-stream","data":")" + data + "\"}";
}

/// GET /v1/documents/{id} as clerk-1: the content, or "" if it is not there.
std::string read_back(const Gateway& gw, const std::string& id) {
  const auto r = gw.call("GET", "/v1/documents/" + id, {{"X-HIE-User", "clerk-1"}});
  if (r.status != 200) return {};
  const auto bytes = crypto::from_base64(json::parse(r.body)["content_base64"].get<std::string>());
  return bytes ? std::string(bytes->begin(), bytes->end()) : std::string();
}

class Crash : public ::testing::Test {
protected:
  void SetUp() override {
    ports_ = {{a_, free_port()}, {b_, free_port()}};
    a_gw_ = make_gateway(pki_, sec_, a_, ports_[a_], ports_);
    b_gw_ = make_gateway(pki_, sec_, b_, ports_[b_], ports_);
    a_gw_->start();
    b_gw_->start();
    for (auto* gw : {a_gw_.get(), b_gw_.get()}) {
      sec_.deliver(*gw, 1, orders(false));
      ASSERT_NO_FATAL_FAILURE(add_user(*gw, "clerk-1", "clerk"));
      ASSERT_NO_FATAL_FAILURE(add_user(*gw, "dr-sato", "physician"));
    }
    ASSERT_NO_FATAL_FAILURE(add_user(*a_gw_, "ns-ito", "nurse"));
    ASSERT_NO_FATAL_FAILURE(consent(*a_gw_, kPatient));
  }

  /// The orders in force: a nurse of A suspended everywhere, and (with
  /// `stop_a`) a maintenance stop of A.
  json orders(bool stop_a) const {
    json list = json::array({{{"id", "2026-0101"},
                              {"action", "suspend_user"},
                              {"audience", "*"},
                              {"reason", "violation"},
                              {"user", a_ + "/ns-ito"}}});
    if (stop_a) list.push_back(stop_order("2026-0102", json::array({a_})));
    return list;
  }

  /// Publishes large documents at A and fetches one from B until A dies;
  /// `acked` gets each document id A answered 200 for. Kills A with SIGKILL
  /// once `kill_after` documents were acknowledged (or after 20 s).
  void kill_mid_transfer(std::size_t kill_after, std::map<std::string, std::string>& acked) {
    std::atomic<bool> done{false};
    std::mutex mu;
    std::thread writer([&] {
      for (unsigned i = 0; !done; ++i) {
        const std::string id = "big-" + std::to_string(round_) + "-" + std::to_string(i);
        std::string content = large_document(3U << 20, round_ * 1000 + i);
        const auto r = publish(*a_gw_, id, kPatient, content);
        if (r.status == 200) {
          const std::lock_guard lock(mu);
          acked.emplace(id, std::move(content));
        } else if (r.status == 0) {
          break;  // the connection died with the daemon
        } else {
          std::this_thread::sleep_for(20ms);  // refused (a stop order): keep the EHR knocking
        }
      }
    });
    std::thread fetcher([&] {
      while (!done) {
        if (fetch(*b_gw_, a_, "big-0-0").status != 200) std::this_thread::sleep_for(20ms);
      }
    });
    const bool enough = eventually(
        [&] {
          const std::lock_guard lock(mu);
          return acked.size() >= kill_after;
        },
        20s);
    std::this_thread::sleep_for(std::chrono::milliseconds(37 * (round_ + 1)));  // into the next transfer
    a_gw_->process().signal(SIGKILL);
    EXPECT_EQ(a_gw_->process().wait(5s).value_or(-1), 128 + SIGKILL);
    done = true;
    writer.join();
    fetcher.join();
    EXPECT_TRUE(enough) << "only " << acked.size() << " documents acknowledged\n" << a_gw_->log();
    ++round_;
  }

  /// Stops A cleanly, then checks its store and audit chain offline.
  void check_offline() {
    ASSERT_EQ(a_gw_->stop(), 0) << a_gw_->log();
    auto r = state::ctl(*a_gw_, {"store", "check"});
    EXPECT_EQ(r.status, 0) << r.output;
    EXPECT_NE(r.output.find("sqlite: ok"), std::string::npos) << r.output;
    EXPECT_NE(r.output.find(" 0 failed"), std::string::npos) << r.output;
    r = state::ctl(*a_gw_, {"audit", "verify"});
    EXPECT_EQ(r.status, 0) << r.output;
  }

  Pki pki_{2};
  Secretariat sec_;
  std::string a_ = facility(1), b_ = facility(2);
  std::map<std::string, std::uint16_t> ports_;
  std::unique_ptr<Gateway> a_gw_, b_gw_;
  unsigned round_ = 0;
};

TEST_F(Crash, KilledWhilePublishingAndServingKeepsEveryAcknowledgedWriteAndItsOrders) {
  std::map<std::string, std::string> acked;
  kill_mid_transfer(3, acked);
  ASSERT_GE(acked.size(), 3U);

  a_gw_->start();  // the store opens after the crash
  for (const auto& [id, content] : acked) {
    EXPECT_EQ(read_back(*a_gw_, id) == content, true) << id << " lost or altered";
  }
  const json mode = json::parse(a_gw_->get("/v1/status").body)["mode"];
  EXPECT_EQ(mode["state"], "normal");
  EXPECT_EQ(mode["suspended_users"], json::array({a_ + "/ns-ito"}));
  // The suspended nurse is still refused on the network.
  const auto r = a_gw_->call("GET", std::string("/v1/patients/") + kPatient + "/documents",
                             {{"X-HIE-User", "ns-ito"}, {"X-HIE-Purpose", "treatment"}});
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_FALSE(error_code(r).empty()) << r.body;
  const auto again = fetch(*b_gw_, a_, "big-0-1");  // A serves again
  EXPECT_EQ(again.status, 200) << again.body.substr(0, 300);
  check_offline();
}

TEST_F(Crash, AStopOrderInForceBeforeTheKillIsInForceAfter) {
  std::map<std::string, std::string> acked;
  kill_mid_transfer(2, acked);
  a_gw_->start();
  sec_.deliver(*a_gw_, 2, orders(true));
  ASSERT_EQ(mode_state(*a_gw_), "stopped");

  // Killed while its EHR keeps sending large documents (each refused) and B
  // keeps asking: the stop order is still in force after the restart.
  std::map<std::string, std::string> none;
  kill_mid_transfer(0, none);
  EXPECT_TRUE(none.empty());
  a_gw_->start();
  EXPECT_EQ(mode_state(*a_gw_), "stopped");
  auto r = publish(*a_gw_, "after", kPatient, R"({"resourceType":"Bundle","type":"document"})");
  EXPECT_EQ(r.status, 503) << r.body;
  EXPECT_EQ(error_code(r), "network_stopped");
  EXPECT_EQ(json::parse(r.body)["error"]["order"], "2026-0102");
  // (B keeps serving its own cached copy of big-0-0; a document it never
  // fetched is not available from the stopped facility.)
  EXPECT_NE(fetch(*b_gw_, a_, "big-0-1").status, 200);
  // B's EHR is told why, in both languages, with the order's id.
  const auto list = b_gw_->call("GET", std::string("/v1/patients/") + kPatient + "/documents",
                                {{"X-HIE-User", "dr-sato"}, {"X-HIE-Purpose", "treatment"}});
  ASSERT_EQ(list.status, 200) << list.body;
  json entry;
  const json listed = json::parse(list.body);
  for (const auto& e : listed["facilities"]) {
    if (e["facility"] == a_) entry = e;
  }
  EXPECT_EQ(entry["error"]["code"], "network_stopped") << entry;
  EXPECT_EQ(entry["error"]["order"], "2026-0102") << entry;
  EXPECT_EQ(entry["error"]["localized"]["ja"], "定期保守のため停止します") << entry;
  EXPECT_EQ(entry["error"]["localized"]["en"], "Stopped for scheduled maintenance") << entry;

  // Lifting it is a newer set without it; the documents from before are intact.
  sec_.deliver(*a_gw_, 3, orders(false));
  EXPECT_EQ(mode_state(*a_gw_), "normal");
  for (const auto& [id, content] : acked) EXPECT_EQ(read_back(*a_gw_, id) == content, true) << id;
  check_offline();
}

}  // namespace
}  // namespace hiegate::test::e2e
