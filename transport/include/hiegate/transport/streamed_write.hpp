// Writes an HTTP response whose body comes from a BodyStream (peer_http.hpp),
// one piece at a time, on any Beast stream: the peer server over mutual TLS
// and the local API over TCP or a Unix socket. Include only where a response
// is written (it pulls in Beast's serializer).
#pragma once

#include <boost/asio/dispatch.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hiegate/transport/peer_http.hpp"

namespace hiegate::transport {

/// One streamed response on `stream`. Owned by its pending operations; the
/// caller keeps `stream` alive until `done` runs (it captures its session in
/// `done`). Runs on the stream's executor. `before_piece` runs before each
/// write (the caller re-arms its write timeout there). `done(ok, bytes)`:
/// ok once the header and exactly `body->size` bytes were written and the
/// stream ended; false after a write error, a failed piece or a body of the
/// wrong length — the caller must then close the connection.
template <class Stream>
class StreamedWrite : public std::enable_shared_from_this<StreamedWrite<Stream>> {
public:
  using Header = boost::beast::http::response_header<>;
  using Done = std::function<void(bool ok, std::uint64_t bytes)>;

  static void start(Stream& stream, Header header, std::shared_ptr<BodyStream> body, std::function<void()> before_piece,
                    Done done) {
    auto self = std::shared_ptr<StreamedWrite>(new StreamedWrite(stream, std::move(body)));
    self->before_ = std::move(before_piece);
    self->done_ = std::move(done);
    static_cast<Header&>(self->res_) = std::move(header);
    self->res_.content_length(self->body_->size);
    self->res_.body().data = nullptr;
    self->res_.body().more = true;
    self->sr_.emplace(self->res_);
    self->before_();
    boost::beast::http::async_write_header(
        self->stream_, *self->sr_, [self](boost::system::error_code ec, std::size_t n) {
          self->sent_ += n;
          if (ec) return self->finish(false);
          self->pull();
        });
  }

private:
  StreamedWrite(Stream& s, std::shared_ptr<BodyStream> b) : stream_(s), body_(std::move(b)) {}

  void pull() {
    auto self = this->shared_from_this();
    body_->next([self](Result<std::string> piece) {
      boost::asio::dispatch(self->stream_.get_executor(),
                            [self, p = std::move(piece)]() mutable { self->on_piece(std::move(p)); });
    });
  }

  void on_piece(Result<std::string> piece) {
    if (!piece) return finish(false);
    const bool end = piece->empty();
    if (end ? written_ != body_->size : piece->size() > body_->size - written_) return finish(false);
    piece_ = std::move(*piece);
    res_.body().data = end ? nullptr : piece_.data();
    res_.body().size = piece_.size();
    res_.body().more = !end;
    before_();
    boost::beast::http::async_write(stream_, *sr_, [self = this->shared_from_this(), end](
                                                        boost::system::error_code ec, std::size_t n) {
      self->sent_ += n;
      if (ec == boost::beast::http::error::need_buffer) ec = {};
      if (ec) return self->finish(false);
      if (end) return self->finish(true);
      self->written_ += self->piece_.size();
      self->piece_ = std::string();  // not held while the next piece is read
      self->pull();
    });
  }

  void finish(bool ok) {
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(ok, sent_);
  }

  Stream& stream_;
  std::shared_ptr<BodyStream> body_;
  boost::beast::http::response<boost::beast::http::buffer_body> res_;
  std::optional<boost::beast::http::response_serializer<boost::beast::http::buffer_body>> sr_;
  std::string piece_;
  std::uint64_t written_ = 0;  // body bytes
  std::uint64_t sent_ = 0;     // all bytes, header included
  std::function<void()> before_;
  Done done_;
};

}  // namespace hiegate::transport
