// When checkpoints are written: every N records, after T seconds with new
// records, on request and on close; readers see them while the log is open.
#include "audit_fixture.hpp"

namespace hiegate::daemon {
namespace {

using namespace testing;
using test::TempDir;

std::vector<std::uint64_t> checkpoint_seqs(const AuditOptions& o, std::shared_ptr<const crypto::KeyRing> keys) {
  auto cps = open_reader(o, std::move(keys))->checkpoints();
  EXPECT_TRUE(cps.ok());
  std::vector<std::uint64_t> out;
  for (const auto& c : *cps) out.push_back(c.seq);
  return out;
}

TEST(AuditCheckpoints, EveryNRecordsAfterTSecondsOnRequestAndOnClose) {
  TempDir dir;
  TestClock clock;
  auto opt = audit_options(dir, clock);
  opt.checkpoint_every = 4;
  opt.checkpoint_interval = std::chrono::seconds(60);
  const auto keys = make_ring({{1, 'k'}});
  QuietLogger logger;
  {
    auto log = open_audit(opt, keys, logger);
    append_samples(*log, 1, 9);
    EXPECT_EQ(checkpoint_seqs(opt, keys), (std::vector<std::uint64_t>{4, 8}));
    clock.advance(61'000);  // T passed: the next commit carries a checkpoint
    append_samples(*log, 10, 1);
    EXPECT_EQ(checkpoint_seqs(opt, keys), (std::vector<std::uint64_t>{4, 8, 10}));
    append_samples(*log, 11, 1);
    std::promise<Status> p;
    log->checkpoint([&](Status s) { p.set_value(s); });
    ASSERT_TRUE(p.get_future().get().ok());
    EXPECT_EQ(checkpoint_seqs(opt, keys), (std::vector<std::uint64_t>{4, 8, 10, 11}));
    append_samples(*log, 12, 1);
  }
  EXPECT_EQ(checkpoint_seqs(opt, keys), (std::vector<std::uint64_t>{4, 8, 10, 11, 12}));
  auto cps = open_reader(opt, keys)->checkpoints();
  for (const auto& c : *cps) {
    EXPECT_EQ(c.public_key.size(), 32u);
    EXPECT_EQ(c.signature.size(), 64u);
    EXPECT_EQ(c.key_version, 1u);
  }
  EXPECT_TRUE(verify(opt, keys).ok());
}

TEST(AuditCheckpoints, ChainContinuesAcrossKeyRotation) {
  TempDir dir;
  TestClock clock;
  const auto opt = audit_options(dir, clock);
  QuietLogger logger;
  {
    auto log = open_audit(opt, make_ring({{1, 'k'}}), logger);
    append_samples(*log, 1, 6);
  }
  const auto rotated = make_ring({{1, 'k'}, {2, 'l'}});
  {
    auto log = open_audit(opt, rotated, logger);
    append_samples(*log, 7, 6);
  }
  const auto rep = verify(opt, rotated);
  EXPECT_TRUE(rep.ok()) << rep.findings[0].message;
  EXPECT_EQ(rep.last_seq, 12u);
  auto cps = open_reader(opt, rotated)->checkpoints();
  EXPECT_EQ(cps->back().key_version, 2u);
  // Reports find a patient across both key versions.
  AuditQuery q;
  q.patient = "PATIENT-SECRET-1";  // samples 1, 6, 11
  EXPECT_EQ(open_reader(opt, rotated)->query(q)->size(), 3u);
  // Without the old key version the old records cannot be verified.
  const auto rep2 = verify(opt, make_ring({{2, 'l'}}));
  ASSERT_FALSE(rep2.ok());
  EXPECT_EQ(rep2.findings[0].kind, "record_changed");
  EXPECT_NE(rep2.findings[0].message.find("key_unavailable"), std::string::npos) << rep2.findings[0].message;
}

}  // namespace
}  // namespace hiegate::daemon
