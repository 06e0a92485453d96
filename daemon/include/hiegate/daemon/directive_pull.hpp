// Pulling the secretariat's orders (shared/spec/directives.md §5, "Pull"):
// an optional https URL on the secretariat, polled over mutual TLS with the
// gateway's own certificate; the server must prove hie://<network>/secretariat
// (a facility certificate is refused as wrong_peer). Each fetched body goes
// the way of a push (deliver_directives with the same audit hook).
#pragma once

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "hiegate/common/result.hpp"
#include "hiegate/transport/peer_client.hpp"

namespace hiegate::daemon {

struct PullUrl {
  std::string host;  ///< a name or an address (IPv6 without brackets)
  std::uint16_t port = 443;
  std::string target = "/";
};

/// `https://HOST[:PORT][/PATH[?QUERY]]`, HOST a DNS name, IPv4 address or
/// [IPv6] address. No user info, no fragment. Error: `bad_pull_url`.
[[nodiscard]] Result<PullUrl> parse_pull_url(std::string_view url);

struct PullSchedule {
  std::chrono::milliseconds interval{300'000};   ///< between successful pulls
  std::chrono::milliseconds first_retry{5'000};  ///< after the first failure
};

/// The wait before the next pull: `interval` after a success (failures 0);
/// after `failures` consecutive failures, first_retry * 2^(failures-1),
/// never above `interval`; either scaled by `jitter`, clamped to [0.5, 1].
[[nodiscard]] std::chrono::milliseconds next_pull_delay(const PullSchedule& s, unsigned failures, double jitter);

/// Polls one URL until stopped. The first pull is at start(). Thread-safe;
/// callbacks run on the io_context, one pull at a time. `client` must outlive
/// the puller (or stop() must have been called before it goes).
class DirectivePuller {
public:
  /// Applies a fetched body (HTTP 200 from the secretariat); true when every
  /// envelope in it was accepted or a no-op. May block for fsyncs.
  using Deliver = std::function<bool(const std::string& body)>;
  /// One failed pull (fetch, HTTP status or delivery) and the wait before the
  /// next one, for the log.
  using Failed = std::function<void(const Error& why, std::chrono::milliseconds next)>;

  DirectivePuller(boost::asio::io_context& ioc, transport::PeerClient& client, PullUrl url,
                  PullSchedule schedule, Deliver deliver, Failed failed);
  ~DirectivePuller();
  DirectivePuller(const DirectivePuller&) = delete;
  DirectivePuller& operator=(const DirectivePuller&) = delete;

  void start();
  /// Pulls now instead of at the next poll (a heartbeat named newer orders
  /// than held); at most once per kPullSoonSpacing, never beside a pull
  /// already under way.
  void pull_soon();
  static constexpr std::chrono::seconds kPullSoonSpacing{2};
  /// No pull starts after this returns; a fetch under way is ignored.
  void stop();

  struct State;

private:
  std::shared_ptr<State> state_;
};

}  // namespace hiegate::daemon
