#include "hiegate/daemon/directive_pull.hpp"

#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <charconv>
#include <mutex>
#include <optional>
#include <random>

namespace hiegate::daemon {

namespace {

Error bad_url(const std::string& why) { return make_error("bad_pull_url", "pull_url " + why); }

bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

}  // namespace

Result<PullUrl> parse_pull_url(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (!url.starts_with(kScheme)) return bad_url("must be an https:// URL");
  url.remove_prefix(kScheme.size());
  if (url.find_first_of("#@ \t\r\n") != std::string_view::npos)
    return bad_url("must not carry user info, a fragment or spaces");
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  PullUrl out;
  if (slash != std::string_view::npos) out.target = std::string(url.substr(slash));
  std::string_view port;
  bool has_port = false;
  if (authority.starts_with('[')) {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad_url("has an unclosed [IPv6] host");
    out.host = std::string(authority.substr(1, close - 1));
    const auto rest = authority.substr(close + 1);
    if (!rest.empty() && !rest.starts_with(':')) return bad_url("has bytes after the [IPv6] host");
    has_port = !rest.empty();
    if (has_port) port = rest.substr(1);
    if (out.host.empty() || out.host.find_first_not_of("0123456789abcdefABCDEF:.") != std::string::npos)
      return bad_url("has an invalid IPv6 host");
  } else {
    const auto colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    has_port = colon != std::string_view::npos;
    if (has_port) port = authority.substr(colon + 1);
    if (out.host.empty() || out.host.size() > 253 || !std::all_of(out.host.begin(), out.host.end(), host_char))
      return bad_url("has an invalid host");
  }
  if (has_port) {
    unsigned p = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535)
      return bad_url("has an invalid port");
    out.port = static_cast<std::uint16_t>(p);
  }
  return out;
}

std::chrono::milliseconds next_pull_delay(const PullSchedule& s, unsigned failures, double jitter) {
  jitter = std::clamp(jitter, 0.5, 1.0);
  std::chrono::milliseconds base = s.interval;
  if (failures > 0) {
    base = s.first_retry;
    for (unsigned i = 1; i < failures && base < s.interval; ++i) base *= 2;
    base = std::min(base, s.interval);
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(static_cast<double>(base.count()) * jitter));
}

struct DirectivePuller::State : std::enable_shared_from_this<State> {
  State(boost::asio::io_context& ioc, transport::PeerClient& c, PullUrl u, PullSchedule s, Deliver d, Failed f)
      : timer(ioc), client(c), url(std::move(u)), schedule(s), deliver(std::move(d)), failed(std::move(f)) {}

  boost::asio::steady_timer timer;
  transport::PeerClient& client;
  const PullUrl url;
  const PullSchedule schedule;
  const Deliver deliver;
  const Failed failed;
  std::mutex mu;  // guards stopped, failures, rng and the timer
  bool stopped = false;
  bool fetching = false;  // a pull is under way
  unsigned failures = 0;
  std::chrono::steady_clock::time_point last_soon{};
  std::minstd_rand rng{std::random_device{}()};

  /// Under mu, so that stop() rules out any later use of `client` (whose
  /// handlers never run inline).
  void pull() {
    std::lock_guard lk(mu);
    if (stopped) return;
    fetching = true;
    transport::OutboundRequest req;
    req.method = "GET";
    req.target = url.target;
    client.async_request(transport::PeerAddress::secretariat_at(url.host, url.port), std::move(req),
                         [self = shared_from_this()](Result<transport::PeerResponse> r) { self->fetched(std::move(r)); });
  }

  void fetched(Result<transport::PeerResponse> r) {
    {
      std::lock_guard lk(mu);
      if (stopped) return;
    }
    std::optional<Error> why;
    if (!r) {
      why = r.error();
    } else if (r->status != 200) {
      why = make_error("pull_refused", "the secretariat answered HTTP " + std::to_string(r->status));
    } else {
      // Whatever the secretariat's server answers is input: a delivery that
      // throws is a rejected pull, never the end of the daemon.
      bool accepted = false;
      try {
        accepted = deliver(r->body);
      } catch (const std::exception& e) {
        why = make_error("pull_rejected", std::string("the pulled body could not be delivered: ") + e.what());
      }
      if (!accepted && !why) why = make_error("pull_rejected", "the pulled directives were not all accepted");
    }
    std::lock_guard lk(mu);
    fetching = false;
    if (stopped) return;
    failures = why ? failures + 1 : 0;
    const double jitter = std::uniform_real_distribution<double>(0.5, 1.0)(rng);
    const auto next = next_pull_delay(schedule, failures, jitter);
    if (why && failed) failed(*why, next);
    arm(next);
  }

  /// Caller holds mu.
  void arm(std::chrono::milliseconds after) {
    timer.expires_after(after);
    timer.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      if (ec) return;
      if (auto self = w.lock()) self->pull();
    });
  }
};

DirectivePuller::DirectivePuller(boost::asio::io_context& ioc, transport::PeerClient& client, PullUrl url,
                                 PullSchedule schedule, Deliver deliver, Failed failed)
    : state_(std::make_shared<State>(ioc, client, std::move(url), schedule, std::move(deliver), std::move(failed))) {}

DirectivePuller::~DirectivePuller() { stop(); }

void DirectivePuller::start() {
  std::lock_guard lk(state_->mu);
  if (!state_->stopped) state_->arm(std::chrono::milliseconds(0));
}

void DirectivePuller::pull_soon() {
  std::lock_guard lk(state_->mu);
  const auto now = std::chrono::steady_clock::now();
  if (state_->stopped || state_->fetching || now - state_->last_soon < kPullSoonSpacing) return;
  state_->last_soon = now;
  state_->arm(std::chrono::milliseconds(0));  // replaces the scheduled wait
}

void DirectivePuller::stop() {
  std::lock_guard lk(state_->mu);
  state_->stopped = true;
  state_->timer.cancel();
}

}  // namespace hiegate::daemon
