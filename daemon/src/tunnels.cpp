#include "hiegate/daemon/tunnels.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <mutex>

#include "hiegate/daemon/audit.hpp"

namespace hiegate::daemon {
namespace asio = boost::asio;
using transport::TunnelDirection;

struct TunnelManager::Impl : std::enable_shared_from_this<TunnelManager::Impl> {
  Impl(asio::io_context& ioc, std::shared_ptr<transport::TlsContext> t, TunnelManagerHooks h)
      : io(ioc), tls(std::move(t)), hooks(std::move(h)), timer(asio::make_strand(ioc)) {}

  std::unique_ptr<transport::TunnelEngine> make_engine() {
    transport::TunnelHooks th;
    // Fail closed: no mode source, or one that throws, permits nothing.
    th.permitted = [w = weak_from_this()](TunnelDirection d) {
      auto self = w.lock();
      if (!self || !self->hooks.functions) return false;
      try {
        const auto f = self->hooks.functions();
        return f.contains(d == TunnelDirection::outbound ? policy::Function::view : policy::Function::serve);
      } catch (const std::exception&) {
        return false;
      }
    };
    th.facility_permitted = hooks.facility_permitted;
    th.audit = hooks.audit;
    th.opened = hooks.opened;
    th.resolve = hooks.resolve;
    return std::make_unique<transport::TunnelEngine>(io, tls, std::move(th));
  }

  /// Runs on the timer's strand, as do start_ticking and stop_ticking.
  void tick() {
    timer.expires_after(std::chrono::milliseconds(500));
    timer.async_wait([w = weak_from_this()](boost::system::error_code ec) {
      auto self = w.lock();
      if (ec || !self || !self->ticking) return;
      {
        // An apply() in progress holds the lock (and may wait on the io
        // threads); skip this round rather than block one of them.
        std::unique_lock lock(self->mu, std::try_to_lock);
        if (lock.owns_lock() && self->engine) self->engine->recheck();
      }
      self->tick();
    });
  }

  void start_ticking() {
    asio::post(timer.get_executor(), [self = shared_from_this()] {
      if (self->ticking) return;
      self->ticking = true;
      self->tick();
    });
  }
  void stop_ticking() {
    asio::post(timer.get_executor(), [self = shared_from_this()] {
      self->ticking = false;
      self->timer.cancel();
    });
  }

  void recheck() {
    std::lock_guard lock(mu);
    if (engine) engine->recheck();
  }

  asio::io_context& io;
  std::shared_ptr<transport::TlsContext> tls;
  TunnelManagerHooks hooks;
  asio::steady_timer timer;
  bool ticking = false;  // on the timer's strand
  mutable std::mutex mu;  // guards engine, current
  std::unique_ptr<transport::TunnelEngine> engine;
  std::optional<TunnelsConfig> current;
};

TunnelManager::TunnelManager(asio::io_context& ioc, std::shared_ptr<transport::TlsContext> tls, TunnelManagerHooks hooks)
    : impl_(std::make_shared<Impl>(ioc, std::move(tls), std::move(hooks))) {}

TunnelManager::~TunnelManager() { stop(); }

Status TunnelManager::apply(const TunnelsConfig& cfg) {
  std::lock_guard lock(impl_->mu);
  const auto limits = cfg.limits();
  const bool rebuild = !impl_->engine || !impl_->current || !(impl_->current->limits() == limits);
  if (!rebuild) {
    // Inbound first cannot fail on checked input; outbound binds and may.
    const auto previous_in = impl_->current->in;
    if (auto st = impl_->engine->set_inbound(cfg.in); !st) return st;
    if (auto st = impl_->engine->set_outbound(cfg.out); !st) {
      (void)impl_->engine->set_inbound(previous_in);
      return st;
    }
    impl_->current = cfg;
    return {};
  }
  // Build the new engine completely before retiring the old one. Addresses
  // the old engine holds are released first, so a restart can rebind them.
  auto old = std::move(impl_->engine);
  if (old) old->stop();
  auto fresh = impl_->make_engine();
  Status st = fresh->start(limits);
  if (st) st = fresh->set_inbound(cfg.in);
  if (st) st = fresh->set_outbound(cfg.out);
  if (!st) {
    fresh->stop();
    if (impl_->current) {
      // Restore the previous set-up (its connections are gone, its tunnels come back).
      auto again = impl_->make_engine();
      Status back = again->start(impl_->current->limits());
      if (back) back = again->set_inbound(impl_->current->in);
      if (back) back = again->set_outbound(impl_->current->out);
      if (back) {
        impl_->engine = std::move(again);
      } else {
        // Said as it is: no tunnel runs until a reload or restart succeeds.
        again->stop();
        return make_error(st.error().code, st.error().message + "; the previous tunnels could not be brought back (" +
                                               back.error().message + "): no tunnel runs until a valid reload");
      }
    }
    return st;
  }
  const bool first = !impl_->current;
  impl_->engine = std::move(fresh);
  impl_->current = cfg;
  if (first) impl_->start_ticking();
  return {};
}

void TunnelManager::mode_changed() { impl_->recheck(); }

void TunnelManager::stop() {
  std::lock_guard lock(impl_->mu);
  if (impl_->engine) impl_->engine->stop();
  impl_->engine.reset();
  impl_->current.reset();
  impl_->stop_ticking();
}

transport::TunnelStats TunnelManager::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->engine ? impl_->engine->stats() : transport::TunnelStats{};
}

std::uint16_t TunnelManager::port() const {
  std::lock_guard lock(impl_->mu);
  return impl_->engine ? impl_->engine->port() : 0;
}

std::optional<transport::LocalEndpoint> TunnelManager::outbound_endpoint(const std::string& name) const {
  std::lock_guard lock(impl_->mu);
  return impl_->engine ? impl_->engine->outbound_endpoint(name) : std::nullopt;
}

AuditRecord tunnel_audit_record(const transport::TunnelRecord& r) {
  AuditRecord rec;
  rec.event = r.direction == transport::TunnelDirection::outbound ? "tunnel_out" : "tunnel_in";
  rec.action = AuditAction::execute;
  rec.outcome = (r.ended == "closed" || r.ended == "opened") ? AuditOutcome::success : AuditOutcome::minor_failure;
  rec.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.started.time_since_epoch()).count();
  rec.peer_facility = r.facility;
  rec.reason_code = r.ended;
  rec.detail = r.tunnel + " " + r.service + " " + std::to_string(r.duration.count()) + "ms to_peer=" +
               std::to_string(r.bytes_to_peer) + " from_peer=" + std::to_string(r.bytes_from_peer);
  return rec;
}

}  // namespace hiegate::daemon
