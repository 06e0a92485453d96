#include "hiegate/daemon/directive_service.hpp"

#include <utility>

namespace hiegate::daemon {

DirectiveService::DirectiveService(DirectiveStore store, DirectiveStartup startup,
                                   policy::VerifierOptions verifier,
                                   policy::FreshnessOptions freshness)
    : store_(std::move(store)),
      verifier_(std::move(verifier)),
      freshness_(freshness),
      current_(std::make_shared<const DirectiveSnapshot>(DirectiveSnapshot{
          std::move(startup.state), startup.failsafe, std::move(startup.reason)})) {}

std::shared_ptr<const DirectiveSnapshot> DirectiveService::snapshot() const {
  std::lock_guard lock(snapshot_mu_);
  return current_;
}

Result<policy::Verdict> DirectiveService::deliver(std::string_view envelope, policy::Time now) {
  std::lock_guard serial(deliver_mu_);
  const std::shared_ptr<const DirectiveSnapshot> before = snapshot();
  policy::Verdict v = policy::apply(before->state, envelope, now, verifier_);
  if (v.decision != policy::Outcome::accept) return v;

  // The start of a stretch behind goes first: should the document's own
  // write then fail, a start stored early is harmless (it counts only
  // while the stored state is behind, and only if earlier).
  if (auto behind = policy::envelopes_of(*v.next).behind_from;
      behind != policy::envelopes_of(before->state).behind_from) {
    if (Status s = store_.persist_behind(behind); !s) return std::move(s).error();
  }
  if (Status s = store_.persist(*v.kind, v.sequence, envelope); !s) return std::move(s).error();
  const bool orders = v.kind == policy::DocumentKind::orders;
  auto next = std::make_shared<const DirectiveSnapshot>(
      DirectiveSnapshot{std::move(*v.next), before->failsafe && !orders,
                        before->failsafe && !orders ? before->failsafe_reason : std::string()});
  v.next.reset();
  {
    std::lock_guard lock(snapshot_mu_);
    current_ = std::move(next);
  }
  return v;
}

policy::OperatingMode DirectiveService::mode(std::string_view facility, policy::Time now) const {
  const std::shared_ptr<const DirectiveSnapshot> s = snapshot();
  if (s->failsafe) return policy::failsafe_mode(freshness_);
  return policy::effective_mode(s->state, facility, now, freshness_);
}

}  // namespace hiegate::daemon
