// Carrying bytes: plain side (local client or backend) ⇄ framed TLS side.
// One buffer per direction and at most one read or write outstanding per
// direction: a slow reader stalls the writer (backpressure), nothing queues.
// A FIN frame carries half-close across TLS 1.2 (whose close_notify closes
// both directions); the connection ends "closed" once both FINs passed.
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/write.hpp>

#include <cstring>

#include "tunnel_impl.hpp"

namespace hiegate::transport::tunnel_detail {
using boost::system::error_code;
namespace wire = tunnel_wire;

void Conn::relay(std::string leftover) {
  relaying_ = true;
  tunnel_->accepted.fetch_add(1);
  tls_->expires_never();
  up_buf_.resize(wire::kHeader + wire::kMaxFrame);
  down_buf_.resize(wire::kHeader + wire::kMaxFrame);
  std::memcpy(down_buf_.data(), leftover.data(), leftover.size());  // < kMaxLine
  down_end_ = leftover.size();
  last_activity_ = std::chrono::steady_clock::now();
  timer_.cancel();
  arm_activity_timer();
  up_read();
  down_process();
}

void Conn::arm_activity_timer() {
  using std::chrono::steady_clock;
  const auto& lim = engine_->limits;
  auto due = steady_clock::time_point::max();
  if (lim.idle_timeout.count() > 0) due = last_activity_ + lim.idle_timeout;
  if (lim.max_duration.count() > 0) due = std::min(due, t0_ + lim.max_duration);
  if (due == steady_clock::time_point::max()) return;
  timer_.expires_at(due);
  timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec || self->finished_) return;
    const auto now = steady_clock::now();
    const auto& l = self->engine_->limits;
    if (l.max_duration.count() > 0 && now >= self->t0_ + l.max_duration)
      return self->end("max_duration", "the tunnel connection reached its maximum duration");
    if (l.idle_timeout.count() > 0 && now >= self->last_activity_ + l.idle_timeout)
      return self->end("idle_timeout", "no traffic within the idle timeout");
    self->arm_activity_timer();
  });
}

void Conn::throttle(asio::steady_timer& t, std::size_t n, std::function<void()> go) {
  last_activity_ = std::chrono::steady_clock::now();
  const auto wait = tunnel_->limiter ? tunnel_->limiter->take(n, last_activity_) : asio::steady_timer::duration::zero();
  if (wait == asio::steady_timer::duration::zero()) return go();
  t.expires_after(wait);
  t.async_wait([self = shared_from_this(), go = std::move(go)](error_code ec) {
    if (ec || self->finished_) return;
    go();
  });
}

void Conn::fail_io(bool tls_side, const error_code& ec) {
  if (finished_) return;
  if (tls_side) {
    const auto e = tls_->last_error();
    return end("aborted_peer", e ? e->code + ": " + e->message : ec.message());
  }
  end("aborted_local", ec.message());
}

// --- up: plain → TLS ---

void Conn::up_read() {
  plain_.async_read_some(asio::buffer(up_buf_.data() + wire::kHeader, wire::kMaxFrame),
                         asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                           if (self->finished_) return;
                           if (ec == asio::error::eof) return self->up_fin();
                           if (ec) return self->fail_io(false, ec);
                           self->throttle(self->up_wait_, n, [self, n] { self->up_send(n); });
                         }));
}

void Conn::up_send(std::size_t n) {
  const auto h = wire::frame_header(wire::kData, n);
  std::memcpy(up_buf_.data(), h.data(), h.size());
  asio::async_write(*tls_, asio::buffer(up_buf_.data(), wire::kHeader + n),
                    asio::bind_executor(strand_, [self = shared_from_this(), n](error_code ec, std::size_t) {
                      if (self->finished_) return;
                      if (ec) return self->fail_io(true, ec);
                      self->to_peer_ += n;
                      self->tunnel_->to_peer.fetch_add(n);
                      self->up_read();
                    }));
}

void Conn::up_fin() {
  const auto h = wire::frame_header(wire::kFin, 0);
  std::memcpy(up_buf_.data(), h.data(), h.size());
  asio::async_write(*tls_, asio::buffer(up_buf_.data(), wire::kHeader),
                    asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t) {
                      if (self->finished_) return;
                      if (ec) return self->fail_io(true, ec);
                      self->up_done_ = true;
                      self->maybe_finish();
                    }));
}

// --- down: TLS → plain ---

void Conn::down_read() {
  tls_->async_read_some(asio::buffer(down_buf_.data() + down_end_, down_buf_.size() - down_end_),
                        asio::bind_executor(strand_, [self = shared_from_this()](error_code ec, std::size_t n) {
                          if (self->finished_) return;
                          if (ec == asio::error::eof)
                            return self->end("aborted_peer", "the peer closed before the end of its stream");
                          if (ec) return self->fail_io(true, ec);
                          self->down_end_ += n;
                          self->down_process();
                        }));
}

void Conn::down_process() {
  while (down_beg_ < down_end_) {
    if (down_left_ == 0) {
      if (down_end_ - down_beg_ < wire::kHeader) break;
      const auto f = wire::parse_header(down_buf_.data() + down_beg_);
      if (!f) return end("protocol_error", "malformed tunnel frame");
      down_beg_ += wire::kHeader;
      if (f->type == wire::kFin) {
        if (down_beg_ != down_end_) return end("protocol_error", "data after the end of stream");
        error_code ig;
        plain_.shutdown(asio::socket_base::shutdown_send, ig);
        down_done_ = true;
        return maybe_finish();
      }
      down_left_ = f->len;
      continue;
    }
    const std::size_t n = std::min(down_left_, down_end_ - down_beg_);
    throttle(down_wait_, n, [self = shared_from_this(), n] {
      asio::async_write(self->plain_, asio::buffer(self->down_buf_.data() + self->down_beg_, n),
                        asio::bind_executor(self->strand_, [self, n](error_code ec, std::size_t) {
                          if (self->finished_) return;
                          if (ec) return self->fail_io(false, ec);
                          self->from_peer_ += n;
                          self->tunnel_->from_peer.fetch_add(n);
                          self->down_beg_ += n;
                          self->down_left_ -= n;
                          self->down_process();
                        }));
    });
    return;
  }
  // Keep a partial header, start the buffer over.
  const std::size_t rest = down_end_ - down_beg_;
  std::memmove(down_buf_.data(), down_buf_.data() + down_beg_, rest);
  down_beg_ = 0;
  down_end_ = rest;
  down_read();
}

void Conn::maybe_finish() {
  if (!up_done_ || !down_done_ || closing_) return;
  closing_ = true;
  tls_->async_shutdown(asio::bind_executor(strand_, [self = shared_from_this()](error_code) {
    self->end("closed", "both sides finished");
  }));
}

}  // namespace hiegate::transport::tunnel_detail
