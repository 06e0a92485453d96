#include "hiegate/daemon/app.hpp"

#include <boost/asio.hpp>

#include <fstream>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/directive_api.hpp"
#include "hiegate/daemon/directive_service.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/tunnels.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/peer_client.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "hiegate/transport/tls.hpp"
#include "export_api.hpp"
#include "clinical_common.hpp"
#include "routes.hpp"
#include "hiegate/daemon/hardening.hpp"
#include "hiegate/daemon/local_api_server.hpp"
#include "hiegate/daemon/notify.hpp"
#include "system_api.hpp"

namespace hiegate::daemon {

namespace net = boost::asio;

namespace {

/// Keys that only take effect at start; a reload that changes them warns.
std::vector<std::string> restart_only_changes(const Config& a, const Config& b) {
  std::vector<std::string> keys;
  auto listen_str = [](const Config& c) {
    std::string s;
    for (const auto& l : c.local_api.listen) s += l.to_string() + ",";
    return s;
  };
  if (a.network.id != b.network.id) keys.emplace_back("network.id");
  if (a.network.facility != b.network.facility) keys.emplace_back("network.facility");
  if (a.daemon.threads != b.daemon.threads) keys.emplace_back("daemon.threads");
  if (a.daemon.state_dir != b.daemon.state_dir) keys.emplace_back("daemon.state_dir");
  if (listen_str(a) != listen_str(b)) keys.emplace_back("local_api.listen");
  if (a.local_api.unix_socket != b.local_api.unix_socket) keys.emplace_back("local_api.unix_socket");
  if (a.local_api.unix_socket_mode != b.local_api.unix_socket_mode) {
    keys.emplace_back("local_api.unix_socket_mode");
  }
  return keys;
}

class App {
public:
  App(const AppOptions& opts, ConfigPtr cfg)
      : opts_(opts),
        log_(Logger::detect_sink(), cfg->daemon.log_level),
        ioc_(static_cast<int>(cfg->daemon.threads)),
        signals_(ioc_, SIGTERM, SIGINT, SIGHUP),
        drain_timer_(ioc_),
        config_(std::move(cfg)),
        started_(std::chrono::steady_clock::now()),
        started_wall_(std::chrono::system_clock::now()) {}

  int run() {
    const ConfigPtr cfg = config();
    if (auto st = start_components(*cfg); !st) {
      log_.log(Level::critical, events::kStartFailed, st.error().message, {{"CODE", st.error().code}});
      notifier_.stopping("failed to start: " + st.error().message);
      return kExitFailure;
    }
    add_system_routes(router_, SystemContext{
                                   [this] { return config(); },
                                   metrics_,
                                   [this](nlohmann::json& j) { fill_status(j); },
                                   [this](Responder r) { rekey_now(std::move(r)); },
                               });
    add_clinical_routes(router_, *gateway_);
    if (directives_) {
      router_.add(http::verb::post, "/v1/directives",
                  directives_local_handler(*directives_, cfg->network.facility, gateway_->clock,
                                           directive_audit_hook()));
    }
    {
      // Every export, print, approval and deletion confirmation — allowed or
      // refused — is audited before it is answered.
      Router exports;
      overdue_exports_ = add_export_routes(exports, *gateway_);
      router_.add_all(exports, [this](const Router::Route& r) -> Handler {
        if (r.method == http::verb::get) return r.handler;
        const std::string event = r.pattern == "/v1/approvals"            ? "approval_grant"
                                  : r.pattern == "/v1/approvals/{id}"      ? "approval_revoke"
                                  : r.pattern == "/v1/exports"             ? "export"
                                                                           : "export_deletion_confirmed";
        return audited_route(*gateway_, event,
                             event == "export" ? AuditAction::read
                                               : (event == "approval_revoke" ? AuditAction::del : AuditAction::create),
                             r.handler);
      });
      metrics_.add_gauge("hiegate_exports_overdue", "Exports past their delete_by without a deletion confirmation.",
                         [this] { return static_cast<double>(overdue_exports_()); });
    }
    server_.emplace(LocalApiServer::Deps{ioc_, log_, metrics_, router_, [this] { return config(); }});
    if (auto st = server_->start(*cfg); !st) {
      log_.log(Level::critical, events::kStartFailed, st.error().message, {{"CODE", st.error().code}});
      notifier_.stopping("failed to start: " + st.error().message);
      return kExitFailure;
    }
    for (const auto& ep : server_->endpoints()) {
      log_.log(Level::info, events::kListening, "local API listening on " + ep, {{"ENDPOINT", ep}});
    }
    wait_signal();
    if (auto wd = notifier_.watchdog_interval()) {
      watchdog_.emplace(ioc_, *wd, [this] { notifier_.watchdog(); });
      watchdog_->start();
    }
    log_.log(Level::notice, events::kReady, "hiegated " HIEGATE_VERSION " ready",
             {{"FACILITY", cfg->network.facility}, {"NETWORK", cfg->network.id},
              {"CONFIG_DIGEST", cfg->digest.substr(0, 16)}});
    notifier_.ready(summary());

    std::vector<std::thread> threads;
    const unsigned n = cfg->daemon.threads;
    for (unsigned i = 1; i < n; ++i) threads.emplace_back([this] { ioc_.run(); });
    ioc_.run();
    for (auto& t : threads) t.join();
    if (peer_client_) peer_client_->shutdown();
    tunnels_.reset();
    peer_server_.reset();
    audit_.reset();  // final checkpoint
    peer_client_.reset();
    log_.log(Level::notice, events::kStopped, "hiegated stopped");
    return kExitOk;
  }

private:
  /// Keys, store, directives, TLS and the peer API, in that order; the first
  /// failure stops the start with a message saying what to fix.
  Status start_components(const Config& cfg) {
    auto ring = crypto::KeyRing::load(cfg.store.master_key);
    if (!ring) return std::move(ring).error();
    keys_ = std::make_shared<const crypto::KeyRing>(std::move(*ring));
    StoreOptions so;
    so.dir = cfg.daemon.state_dir;
    so.cache_max_bytes = cfg.store.cache_max_bytes;
    so.cache_ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(cfg.store.cache_ttl).count();
    so.on_integrity = [this](const IntegrityEvent& ev) {
      log_.log(Level::error, events::kRecordQuarantined, "a stored record failed to open and was quarantined",
               {{"TABLE", ev.table}, {"KEY_HASH", ev.key_hash_hex}, {"CODE", ev.code}});
    };
    auto store = Store::open(std::move(so), keys_);
    if (!store) return std::move(store).error();
    store_ = std::move(*store);
    AuditOptions ao;
    ao.dir = cfg.daemon.state_dir;
    auto audit = AuditLog::open(ao, keys_, log_);
    if (!audit) return std::move(audit).error();
    audit_ = std::move(*audit);
    if (store_->rekey_status().running) store_->start_rekey([this](Result<RekeyStatus> r) { rekey_ended(r); });
    if (!cfg.directives.keyset.empty()) {
      if (auto st = start_directive_service(cfg); !st) return st;
    } else {
      log_.log(Level::warning, events::kDirectivesOff,
               "no [directives] keyset configured: the secretariat's orders cannot be received");
    }
    gateway_.emplace(Gateway{ioc_, log_, metrics_, [this] { return config(); },
                             [] { return std::chrono::time_point_cast<std::chrono::seconds>(
                                      std::chrono::system_clock::now()); },
                             *store_, directives_.get(), nullptr, nullptr, audit_.get()});
    if (cfg.tls.enabled()) {
      if (auto st = start_peer_network(cfg); !st) return st;
      gateway_->peers = peer_client_.get();
      gateway_->credentials = credentials_.get();
      if (auto st = start_tunnels(cfg); !st) return st;
    }
    return {};
  }

  Status start_tunnels(const Config& cfg) {
    TunnelManagerHooks hooks;
    hooks.functions = [this] { return gateway_->mode().allowed; };
    hooks.audit = [this](const transport::TunnelRecord& r) {
      log_.log(r.ended == "closed" ? Level::info : Level::notice, events::kTunnelConnection,
               "tunnel connection " + r.ended,
               {{"TUNNEL", r.tunnel}, {"SERVICE", r.service}, {"PEER", r.facility},
                {"DURATION_MS", std::to_string(r.duration.count())},
                {"BYTES_TO_PEER", std::to_string(r.bytes_to_peer)},
                {"BYTES_FROM_PEER", std::to_string(r.bytes_from_peer)}, {"ENDED", r.ended}});
      AuditRecord rec;
      rec.event = r.direction == transport::TunnelDirection::outbound ? "tunnel_out" : "tunnel_in";
      rec.action = AuditAction::execute;
      rec.outcome = (r.ended == "closed") ? AuditOutcome::success : AuditOutcome::minor_failure;
      rec.time_ms = std::chrono::duration_cast<std::chrono::milliseconds>(r.started.time_since_epoch()).count();
      rec.peer_facility = r.facility;
      rec.reason_code = r.ended;
      rec.detail = r.tunnel + " " + r.service + " " + std::to_string(r.duration.count()) + "ms to_peer=" +
                   std::to_string(r.bytes_to_peer) + " from_peer=" + std::to_string(r.bytes_from_peer);
      gateway_->audited(std::move(rec), [](Status) {});
    };
    hooks.resolve = [this](const std::string& facility) -> std::optional<std::string> {
      for (const auto& p : config()->peers) {
        if (p.facility == facility) return p.host + ":" + std::to_string(p.tunnel_port);
      }
      return std::nullopt;
    };
    tunnels_ = std::make_unique<TunnelManager>(ioc_, tls_, std::move(hooks));
    return tunnels_->apply(cfg.tunnels);
  }

  Status start_directive_service(const Config& cfg) {
    std::ifstream f(cfg.directives.keyset, std::ios::binary);
    if (!f) {
      return make_error("keyset_missing", "cannot read the keyset " + cfg.directives.keyset.string() +
                                              " ([directives] keyset); install the keyset v1 file the "
                                              "secretariat gave you and check its fingerprint with "
                                              "hiegatectl directives fingerprint");
    }
    const std::string anchor((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto dstore = DirectiveStore::open(cfg.daemon.state_dir / "directives");
    if (!dstore) return std::move(dstore).error();
    policy::VerifierOptions vo;
    vo.network = cfg.network.id;
    vo.max_clock_skew = std::chrono::duration_cast<std::chrono::seconds>(cfg.directives.max_clock_skew);
    policy::FreshnessOptions fo;
    fo.stale_grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.directives.stale_grace);
    fo.stale_mode = policy::parse_fallback_mode(cfg.directives.stale_mode).value_or(fo.stale_mode);
    fo.failsafe_mode = policy::parse_fallback_mode(cfg.directives.failsafe_mode).value_or(fo.failsafe_mode);
    auto startup = start_directives(*dstore, anchor, vo);
    if (!startup) return std::move(startup).error();
    if (startup->failsafe) {
      log_.log(Level::critical, events::kDirectivesFailsafe,
               "FAILSAFE MODE: " + startup->reason + "; serving " + cfg.directives.failsafe_mode +
                   " until the secretariat delivers a valid orders set",
               {{"REASON", startup->reason}});
    }
    directives_ = std::make_unique<DirectiveService>(std::move(*dstore), std::move(*startup), vo, fo);
    return {};
  }

  Status start_peer_network(const Config& cfg) {
    transport::CredentialPaths paths{cfg.tls.cert, cfg.tls.key, cfg.tls.ca, cfg.tls.crl};
    transport::CredentialOptions co;
    co.network = cfg.network.id;
    co.crl_grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.tls.crl_grace);
    co.expiry_warning = std::chrono::duration_cast<std::chrono::hours>(cfg.tls.expiry_warning);
    auto creds = transport::CredentialStore::open(paths, co, std::chrono::system_clock::now());
    if (!creds) return std::move(creds).error();
    credentials_ = std::move(*creds);
    const auto& id = credentials_->current()->identity();
    if (id.kind != transport::PeerIdentity::Kind::facility || id.facility != cfg.network.facility) {
      return make_error("certificate_mismatch", "the certificate " + cfg.tls.cert.string() + " is for " +
                                                    id.uri() + ", not for facility " +
                                                    cfg.network.facility + " ([network] facility)");
    }
    for (const auto& w : credentials_->current()->warnings(std::chrono::system_clock::now())) {
      log_.log(Level::warning, events::kTlsWarning, w);
    }
    transport::TlsSettings ts;
    ts.handshake_timeout = cfg.tls.handshake_timeout;
    tls_ = transport::TlsContext::create(credentials_, ts);
    transport::PeerClientOptions pco;
    pco.request_timeout = cfg.peer_api.fetch_timeout;
    pco.connect_timeout = std::min(cfg.peer_api.fetch_timeout, pco.connect_timeout);
    pco.handshake_timeout = std::min(cfg.peer_api.fetch_timeout, pco.handshake_timeout);
    peer_client_ = std::make_unique<transport::PeerClient>(ioc_, tls_, pco);
    transport::PeerServerOptions pso;
    pso.address = cfg.peer_api.address;
    pso.port = cfg.peer_api.port;
    pso.max_connections = cfg.peer_api.max_connections;
    pso.max_body_bytes = cfg.peer_api.max_body_bytes;
    pso.request_timeout = cfg.peer_api.request_timeout;
    pso.idle_timeout = cfg.peer_api.idle_timeout;
    pso.handshake_timeout = cfg.tls.handshake_timeout;
    pso.on_handshake_failure = [this](const std::string& remote, const Error& why) {
      log_.log(Level::notice, events::kPeerRefused, "peer handshake refused: " + why.message,
               {{"REMOTE", remote}, {"CODE", why.code}});
    };
    auto routes = peer_routes(*gateway_);
    if (directives_) {
      routes.push_back(directives_peer_route(*directives_, cfg.network.facility, gateway_->clock,
                                             directive_audit_hook()));
    }
    peer_server_ = std::make_unique<transport::PeerServer>(ioc_, tls_, pso, std::move(routes));
    if (auto st = peer_server_->start(); !st) return st;
    log_.log(Level::info, events::kListening,
             "peer API listening on port " + std::to_string(peer_server_->port()),
             {{"ENDPOINT", cfg.peer_api.address + ":" + std::to_string(peer_server_->port())}});
    return {};
  }

  /// Every delivered envelope is logged (and audited); an accepted one may
  /// change the mode, so the tunnels re-check at once.
  DirectiveAuditHook directive_audit_hook() {
    return [this](std::string_view source, std::size_t index, const Result<policy::Verdict>& v) {
      const std::string where = std::string(source) + "#" + std::to_string(index);
      if (!v) {
        log_.log(Level::error, events::kDirectiveRejected, "directive not stored: " + v.error().message,
                 {{"SOURCE", where}, {"CODE", v.error().code}});
        return;
      }
      if (v->rejected()) {
        const auto& ev = v->reason == policy::RejectReason::equivocation ? events::kDirectiveEquivocation
                                                                          : events::kDirectiveRejected;
        log_.log(v->reason == policy::RejectReason::equivocation ? Level::critical : Level::warning, ev,
                 "directive rejected: " + std::string(policy::code(v->reason)),
                 {{"SOURCE", where}, {"CODE", std::string(policy::code(v->reason))}, {"DETAIL", v->detail}});
        return;
      }
      log_.log(Level::notice, events::kDirectiveAccepted,
               v->decision == policy::Outcome::noop ? "directive already held (no-op)" : "directive accepted",
               {{"SOURCE", where}, {"SEQUENCE", std::to_string(v->sequence)}});
      if (tunnels_) tunnels_->mode_changed();
      notifier_.status(summary());
    };
  }

  ConfigPtr config() const {
    std::lock_guard lk(config_mu_);
    return config_;
  }

  std::string summary() const {
    const ConfigPtr cfg = config();
    return "serving facility " + cfg->network.facility + "; mode " +
           std::string(gateway_ ? gateway_->mode().summary() : "starting") + "; " +
           std::to_string(server_ ? server_->connections() : 0) + " local connections";
  }

  void wait_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        reload();
        wait_signal();
      } else {
        shutdown(sig);
      }
    });
  }

  void reload() {
    notifier_.reloading("reloading configuration");
    const ConfigPtr old = config();
    ConfigLoad load = load_config(opts_.config_path);
    if (!load.ok()) {
      for (const auto& issue : load.issues) {
        log_.log(Level::error, events::kConfigRejected,
                 "configuration rejected, the previous one stays in force: " + issue.to_string(),
                 {{"CONFIG_KEY", issue.key}, {"CONFIG_LINE", std::to_string(issue.line)}});
      }
      notifier_.ready("reload failed: configuration rejected; previous configuration in force; " +
                      summary());
      return;
    }
    for (const auto& key : restart_only_changes(*old, *load.config)) {
      log_.log(Level::warning, events::kConfigRestartNeeded,
               key + " changed; the new value takes effect at the next restart",
               {{"CONFIG_KEY", key}});
    }
    {
      std::lock_guard lk(config_mu_);
      config_ = load.config;
    }
    log_.set_level(load.config->daemon.log_level);
    if (tunnels_) {
      if (auto st = tunnels_->apply(load.config->tunnels); !st) {
        log_.log(Level::error, events::kConfigRejected,
                 "tunnels not changed, the previous ones keep running: " + st.error().message,
                 {{"CODE", st.error().code}});
      }
    }
    if (credentials_) {
      if (auto st = credentials_->reload(std::chrono::system_clock::now()); !st) {
        log_.log(Level::error, events::kTlsReloadFailed,
                 "TLS credentials not reloaded, the previous ones stay in force: " + st.error().message,
                 {{"CODE", st.error().code}});
      } else {
        for (const auto& w : credentials_->current()->warnings(std::chrono::system_clock::now())) {
          log_.log(Level::warning, events::kTlsWarning, w);
        }
      }
    }
    log_.log(Level::notice, events::kConfigReloaded, "configuration reloaded",
             {{"CONFIG_DIGEST", load.config->digest.substr(0, 16)}});
    notifier_.ready(summary());
  }

  void shutdown(int sig) {
    if (stopping_) return;
    stopping_ = true;
    const ConfigPtr cfg = config();
    log_.log(Level::notice, events::kStopping,
             std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
                 ": draining requests in flight",
             {{"CONNECTIONS", std::to_string(server_->connections())}});
    notifier_.stopping("stopping: draining requests in flight");
    if (peer_server_) peer_server_->stop();
    if (tunnels_) tunnels_->stop();
    if (watchdog_) watchdog_->stop();
    boost::system::error_code ignored;
    signals_.cancel(ignored);
    drain_timer_.expires_after(cfg->daemon.drain_timeout);
    drain_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      log_.log(Level::warning, events::kDrainTimeout,
               "drain timeout reached; closing the remaining connections",
               {{"CONNECTIONS", std::to_string(server_->connections())}});
      server_->close_all();
      // Whatever still holds the loop after a forced close is abandoned.
      finish_timer_.emplace(ioc_, std::chrono::milliseconds(500));
      finish_timer_->async_wait([this](boost::system::error_code) { ioc_.stop(); });
    });
    server_->drain([this] {
      drain_timer_.cancel();
      if (finish_timer_) finish_timer_->cancel();
    });
  }

  static nlohmann::json rekey_json(const RekeyStatus& rk) {
    return {{"running", rk.running}, {"from_version", rk.from_version}, {"to_version", rk.to_version},
            {"done", rk.done}, {"total", rk.total}};
  }

  void rekey_ended(const Result<RekeyStatus>& r) {
    if (r) {
      log_.log(Level::notice, events::kRekeyFinished, "rekey finished",
               {{"KEY_VERSION", std::to_string(r->to_version)}, {"RECORDS", std::to_string(r->done)}});
    } else {
      log_.log(Level::error, events::kRekeyFinished, "rekey stopped: " + r.error().message, {{"CODE", r.error().code}});
    }
  }

  /// POST /v1/store/rekey: reads the key files again (a few small files; the
  /// ring at start stays in use by the audit trail) and hands the ring to the
  /// store, which refuses a wrong or incomplete one without changing anything.
  void rekey_now(Responder r) {
    auto ring = crypto::KeyRing::load(config()->store.master_key);
    if (!ring) {
      r.send(error_response(http::status::conflict, ring.error().code, ring.error().message));
      return;
    }
    auto keys = std::make_shared<const crypto::KeyRing>(std::move(*ring));
    auto resp = std::make_shared<Responder>(std::move(r));
    store_->adopt_keys(
        std::move(keys),
        [this, resp](Result<RekeyStatus> st) {
          if (!st) {
            resp->send(error_response(http::status::conflict, st.error().code, st.error().message));
            return;
          }
          if (!st->running) {
            resp->send(json_response(http::status::ok, {{"rekey", rekey_json(*st)}}));
            return;
          }
          log_.log(Level::notice, events::kRekeyStarted, "rekey started",
                   {{"FROM_VERSION", std::to_string(st->from_version)},
                    {"KEY_VERSION", std::to_string(st->to_version)}, {"RECORDS", std::to_string(st->total)}});
          AuditRecord rec;
          rec.event = "key_operation";
          rec.action = AuditAction::execute;
          rec.facility = config()->network.facility;
          rec.reason_code = "rekey_started";
          rec.detail = "rekey from key version " + std::to_string(st->from_version) + " to " +
                       std::to_string(st->to_version) + ", " + std::to_string(st->total) + " records";
          // Answered once the record is durable; the rekey runs either way.
          gateway_->audited(std::move(rec), [resp, body = rekey_json(*st)](Status) {
            resp->send(json_response(http::status::accepted, {{"rekey", body}}));
          });
        },
        [this](Result<RekeyStatus> done) { rekey_ended(done); });
  }

  void fill_status(nlohmann::json& j) const {
    const ConfigPtr cfg = config();
    const auto up = std::chrono::steady_clock::now() - started_;
    j["version"] = HIEGATE_VERSION;
    j["network"] = cfg->network.id;
    j["facility"] = cfg->network.facility;
    j["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(up).count();
    j["started_at"] = format_utc(started_wall_);
    j["config"] = {{"path", cfg->source.string()}, {"digest", cfg->digest}};
    j["mode"] = mode_json(gateway_->mode());
    j["directives"] = directives_ ? nlohmann::json{{"configured", true}} : nlohmann::json{{"configured", false}};
    if (directives_) {
      const auto snap = directives_->snapshot();
      auto& d = j["directives"];
      d["failsafe"] = snap->failsafe;
      if (snap->failsafe) d["failsafe_reason"] = snap->failsafe_reason;
      d["keyset_version"] = snap->state.keysets.empty() ? 0 : snap->state.keysets.rbegin()->first;
      d["orders_sequence"] = snap->state.orders ? snap->state.orders->value.sequence : 0;
      d["heartbeat_sequence"] = snap->state.heartbeat ? snap->state.heartbeat->value.sequence : 0;
    }
    if (overdue_exports_) j["exports"] = {{"overdue", overdue_exports_()}};
    const RekeyStatus rk = store_->rekey_status();
    j["store"] = {{"key_version", rk.running ? rk.from_version : rk.to_version}, {"rekey", rekey_json(rk)}};
    if (credentials_) {
      const auto c = credentials_->current();
      j["tls"] = {{"identity", c->identity().uri()},
                  {"warnings", c->warnings(std::chrono::system_clock::now())},
                  {"peer_port", peer_server_ ? peer_server_->port() : 0}};
    }
    j["local_api"] = {{"endpoints", server_->endpoints()}, {"connections", server_->connections()},
                      {"stopping", stopping_.load()}};
  }

  AppOptions opts_;
  Logger log_;
  Metrics metrics_;
  Notifier notifier_;
  net::io_context ioc_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  std::optional<net::steady_timer> finish_timer_;
  std::optional<Watchdog> watchdog_;
  mutable std::mutex config_mu_;
  ConfigPtr config_;
  std::shared_ptr<const crypto::KeyRing> keys_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<DirectiveService> directives_;
  std::shared_ptr<transport::CredentialStore> credentials_;
  std::shared_ptr<transport::TlsContext> tls_;
  std::unique_ptr<transport::PeerClient> peer_client_;
  std::unique_ptr<transport::PeerServer> peer_server_;
  std::unique_ptr<TunnelManager> tunnels_;
  std::function<std::size_t()> overdue_exports_;
  std::optional<Gateway> gateway_;
  Router router_;
  std::optional<LocalApiServer> server_;
  std::atomic<bool> stopping_{false};
  std::chrono::steady_clock::time_point started_;
  std::chrono::system_clock::time_point started_wall_;
};

}  // namespace

int run_app(const AppOptions& opts) {
  ConfigLoad load = load_config(opts.config_path);
  if (!load.ok()) {
    std::cerr << "hiegated: refusing to start, the configuration is invalid:\n" << load.report();
    return kExitConfig;
  }
  if (auto st = harden_process(HardeningOptions{opts.allow_root}); !st) {
    std::cerr << "hiegated: " << st.error().message << "\n";
    return kExitFailure;
  }
  App app(opts, load.config);
  return app.run();
}

}  // namespace hiegate::daemon
