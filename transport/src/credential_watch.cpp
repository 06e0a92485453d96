#include "hiegate/transport/credential_watch.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <set>
#include <string>

namespace hiegate::transport {
namespace asio = boost::asio;
using boost::system::error_code;

struct CredentialWatcher::Impl : std::enable_shared_from_this<CredentialWatcher::Impl> {
  Impl(asio::io_context& ioc, std::shared_ptr<CredentialStore> s, CredentialWatchOptions o)
      : strand(asio::make_strand(ioc)), fd(strand), timer(strand), store(std::move(s)), opts(std::move(o)) {}

  void read() {
    fd.async_read_some(asio::buffer(buf), [self = shared_from_this()](error_code ec, std::size_t n) {
      if (ec || self->stopped) return;
      if (self->relevant(n)) self->arm();
      self->read();
    });
  }

  /// True if the events in buf[0, n) touch one of the credential files.
  bool relevant(std::size_t n) const {
    bool hit = false;
    for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
      inotify_event ev;
      std::memcpy(&ev, buf.data() + off, sizeof ev);
      if (ev.mask & IN_Q_OVERFLOW) hit = true;
      if (ev.len > 0) {
        const std::string name(buf.data() + off + sizeof ev, ::strnlen(buf.data() + off + sizeof ev, ev.len));
        const auto it = names.find(ev.wd);
        if (it != names.end() && it->second.count(name)) hit = true;
      }
      off += sizeof ev + ev.len;
    }
    return hit;
  }

  void arm() {
    timer.expires_after(opts.debounce);
    timer.async_wait([self = shared_from_this()](error_code ec) {
      if (ec || self->stopped) return;
      const Status st = self->store->reload(self->opts.clock ? self->opts.clock() : std::chrono::system_clock::now());
      if (self->opts.on_reload) self->opts.on_reload(st);
    });
  }

  void close() {
    stopped = true;
    error_code ig;
    timer.cancel();
    fd.close(ig);  // also removes the watches
  }

  asio::strand<asio::io_context::executor_type> strand;
  asio::posix::stream_descriptor fd;
  asio::steady_timer timer;
  std::shared_ptr<CredentialStore> store;
  CredentialWatchOptions opts;
  std::map<int, std::set<std::string>> names;  ///< watch descriptor -> file names in that directory
  alignas(inotify_event) std::array<char, 4096> buf{};
  std::atomic<bool> stopped{false};
};

Result<std::unique_ptr<CredentialWatcher>> CredentialWatcher::start(asio::io_context& ioc,
                                                                   std::shared_ptr<CredentialStore> store,
                                                                   CredentialWatchOptions opts) {
  const int raw = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (raw < 0) return make_error("watch_failed", std::string("inotify unavailable: ") + std::strerror(errno));
  const auto paths = store->paths();
  auto impl = std::make_shared<Impl>(ioc, std::move(store), std::move(opts));
  impl->fd.assign(raw);  // owns raw from here on
  std::map<std::filesystem::path, int> dirs;
  for (const auto* p : {&paths.cert, &paths.key, &paths.ca, &paths.crl}) {
    std::error_code ec;
    const auto abs = std::filesystem::absolute(*p, ec);
    if (ec) return make_error("watch_failed", "cannot resolve " + p->string());
    const auto dir = abs.parent_path();
    auto it = dirs.find(dir);
    if (it == dirs.end()) {
      const int wd = ::inotify_add_watch(raw, dir.c_str(),
                                         IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB);
      if (wd < 0) return make_error("watch_failed", "cannot watch " + dir.string() + ": " + std::strerror(errno));
      it = dirs.emplace(dir, wd).first;
    }
    impl->names[it->second].insert(abs.filename().string());
  }
  asio::dispatch(impl->strand, [impl] { impl->read(); });
  return std::unique_ptr<CredentialWatcher>(new CredentialWatcher(std::move(impl)));
}

CredentialWatcher::CredentialWatcher(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
CredentialWatcher::~CredentialWatcher() { stop(); }

void CredentialWatcher::stop() {
  if (impl_->stopped.exchange(true)) return;
  if (impl_->strand.running_in_this_thread()) {
    impl_->close();
  } else {
    asio::post(impl_->strand, [impl = impl_] { impl->close(); });
  }
}

}  // namespace hiegate::transport
