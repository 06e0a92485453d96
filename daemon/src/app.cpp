#include "hiegate/daemon/app.hpp"

#include <fstream>
#include <iostream>
#include <thread>
#include <vector>

#include "app_impl.hpp"

namespace hiegate::daemon {

namespace {
/// Where a CRL pulled from the secretariat is kept ([tls] crl_url).
constexpr const char* kPulledCrl = "crl-pulled.pem";
}  // namespace

int App::run() {
  const ConfigPtr cfg = config();
  if (auto st = start_components(*cfg); !st) {
    return fail_start(st.error());
  }
  add_system_routes(router_, SystemContext{
                                 [this] { return config(); },
                                 metrics_,
                                 [this](nlohmann::json& j) { fill_status(j); },
                                 [this](Responder r) { rekey_now(std::move(r)); },
                             });
  if (auto st = add_clinical_routes(router_, *gateway_); !st) {
    return fail_start(st.error());
  }
  if (directives_) {
    router_.add(http::verb::post, "/v1/directives",
                directives_local_handler(*directives_, cfg->network.facility, gateway_->clock,
                                         directive_audit_hook(), directive_records()));
    router_.add(http::verb::get, "/v1/directives",
                directives_show_handler(*directives_, cfg->network.facility, gateway_->clock));
  }
  {
    // Every export, print, approval and deletion confirmation — allowed or
    // refused — is audited before it is answered.
    Router exports;
    overdue_exports_ = add_export_routes(exports, *gateway_);
    router_.add_all(exports, [this](const Router::Route& r) { return audited_export_route(*gateway_, r); });
    metrics_.add_gauge("hiegate_exports_overdue", "Exports past their delete_by without a deletion confirmation.",
                       [this] { return static_cast<double>(overdue_exports_()); });
  }
  server_.emplace(
      LocalApiServer::Deps{ioc_, log_, metrics_, router_, [this] { return config(); }, in_flight_.get(), memory_.get()});
  if (auto st = server_->start(*cfg); !st) {
    return fail_start(st.error());
  }
  for (const auto& ep : server_->endpoints()) {
    log_.log(Level::info, events::kListening, "local API listening on " + ep, {{"ENDPOINT", ep}});
  }
  wait_signal();
  // Windows (not_before/not_after) open and close without a message: the
  // requests in flight are re-checked twice a second.
  mode_ticker_.emplace(ioc_, std::chrono::seconds(1), [this] { mode_tick(); });
  mode_ticker_->start();
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
  puller_.reset();
  crl_puller_.reset();
  // The store first: it finishes its queued work, whose callbacks may still
  // append audit records (rekey, cache purge); then the trail's final
  // checkpoint.
  store_.reset();
  audit_.reset();
  peer_client_.reset();
  log_.log(Level::notice, events::kStopped, "hiegated stopped");
  return kExitOk;
}

int App::fail_start(const Error& e) {
  log_.log(Level::critical, events::kStartFailed, e.message, {{"CODE", e.code}});
  notifier_.stopping("failed to start: " + e.message);
  return kExitFailure;
}

Status App::start_components(const Config& cfg) {
  auto ring = crypto::KeyRing::load(cfg.store.master_key);
  if (!ring) return std::move(ring).error();
  keys_ = std::make_shared<const crypto::KeyRing>(std::move(*ring));
  StoreOptions so;
  so.dir = cfg.daemon.state_dir;
  so.cache_max_bytes = cfg.store.cache_max_bytes;
  so.cache_ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(cfg.store.cache_ttl).count();
  // A schema upgrade may copy every content once: tell systemd the start
  // is alive rather than let TimeoutStartSec kill it half-way (the
  // migration would roll back and start over at the next try).
  so.on_long_work = [this] {
    notifier_.extend_timeout(std::chrono::seconds(30), "upgrading the store's format; this start takes longer");
  };
  so.on_integrity = [this](const IntegrityEvent& ev) {
    log_.log(Level::error, events::kRecordQuarantined, "a stored record failed to open and was quarantined",
             {{"TABLE", ev.table}, {"KEY_HASH", ev.key_hash_hex}, {"CODE", ev.code}});
  };
  auto store = Store::open(std::move(so), keys_);
  if (!store) return std::move(store).error();
  store_ = std::move(*store);
  auto audit = AuditLog::open(audit_options(cfg), keys_, log_);
  if (!audit) return std::move(audit).error();
  audit_ = std::move(*audit);
  prune_audit();
  if (const auto rk = store_->rekey_status(); rk.running) {
    audit_daemon_act("key_operation", AuditOutcome::success, "rekey_started",
                     "rekey from key version " + std::to_string(rk.from_version) + " to " +
                         std::to_string(rk.to_version) + " resumed at start (" + std::to_string(rk.done) +
                         " of " + std::to_string(rk.total) + " records done)");
    store_->start_rekey([this](Result<RekeyStatus> r) { rekey_ended(r); });
  }
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
  memory_ = std::make_unique<MemoryBudget>(cfg.daemon.document_memory_bytes);
  gateway_->memory = memory_.get();
  gateway_->watch = &watch_;
  metrics_.add_gauge("hiegate_document_memory_bytes", "Document bytes held in memory now (bodies, contents, fetches).",
                     [this] { return static_cast<double>(memory_->in_use()); });
  metrics_.add_gauge("hiegate_document_memory_refused", "Requests refused since start because the document memory "
                     "budget was full (503 overloaded).",
                     [this] { return static_cast<double>(memory_->refused_total()); });
  in_flight_ = std::make_unique<InFlight>([this] { return gateway_->mode().allowed; });
  add_mode_metrics(metrics_, [this] { return gateway_->mode(); });
  metrics_.add_gauge("hiegate_requests_in_flight", "Requests in flight that a secretariat order could cut.",
                     [this] { return static_cast<double>(in_flight_->size()); });
  metrics_.add_gauge("hiegate_requests_cut", "Requests cut by a secretariat order since start.",
                     [this] { return static_cast<double>(in_flight_->cut_total()); });
  purges_ = std::make_unique<CachePurges>(*store_, log_, [this](AuditRecord r) {
    gateway_->audited(std::move(r), [](Status) {});
  });
  check_purges();
  if (cfg.tls.enabled()) {
    if (auto st = start_peer_network(cfg); !st) return st;
    gateway_->peers = peer_client_.get();
    gateway_->credentials = credentials_.get();
    if (auto st = start_tunnels(cfg); !st) return st;
    start_directive_pull(cfg);
    start_crl_pull(cfg);
  } else if (!cfg.directives.pull_url.empty() || !cfg.tls.crl_url.empty()) {
    return make_error("config_invalid",
                      "[directives] pull_url and [tls] crl_url need the [tls] credentials to reach the secretariat");
  }
  return {};
}

void App::start_directive_pull(const Config& cfg) {
  auto url = parse_pull_url(cfg.directives.pull_url);
  if (!directives_ || cfg.directives.pull_url.empty() || !url) return;
  PullSchedule schedule;
  schedule.interval = cfg.directives.pull_interval;
  schedule.first_retry = std::min(schedule.first_retry, schedule.interval);
  puller_ = std::make_unique<DirectivePuller>(
      ioc_, *peer_client_, std::move(*url), schedule,
      [this, facility = cfg.network.facility, source = "pull " + cfg.directives.pull_url](const std::string& body) {
        return deliver_directives(*directives_, facility, body, gateway_->clock(), source,
                                  recording(directive_audit_hook(), directive_records()))
                   .status == 200;
      },
      [this, where = cfg.directives.pull_url](const Error& why, std::chrono::milliseconds next) {
        log_.log(Level::warning, events::kDirectivePullFailed,
                 "pulling orders from " + where + " failed: " + why.message,
                 {{"CODE", why.code}, {"NEXT", std::to_string(next.count() / 1000)}});
      });
  puller_->start();
}

void App::start_crl_pull(const Config& cfg) {
  auto url = parse_pull_url(cfg.tls.crl_url);
  if (cfg.tls.crl_url.empty() || !url) return;
  PullSchedule schedule;
  schedule.interval = cfg.tls.crl_pull_interval;
  schedule.first_retry = std::min(schedule.first_retry, schedule.interval);
  crl_puller_ = std::make_unique<DirectivePuller>(
      ioc_, *peer_client_, std::move(*url), schedule,
      [this, keep = cfg.daemon.state_dir / kPulledCrl](const std::string& body) { return take_crl(body, keep); },
      [this, where = cfg.tls.crl_url](const Error& why, std::chrono::milliseconds next) {
        log_.log(Level::warning, events::kCrlPullFailed, "pulling the CRL from " + where + " failed: " + why.message,
                 {{"CODE", why.code}, {"NEXT", std::to_string(next.count() / 1000)}});
      });
  crl_puller_->start();
}

bool App::take_crl(const std::string& pem, const std::filesystem::path& keep) {
  // Kept before it is used, so that a restart keeps it in force.
  if (auto kept = transport::keep_crl_update(*credentials_->current(), pem, keep); !kept) {
    if (kept.error().code == "crl_not_newer") return true;
    log_.log(Level::warning, events::kCrlPullFailed, "the pulled CRL is not taken: " + kept.error().message,
             {{"CODE", kept.error().code}});
    return false;
  }
  const auto st = credentials_->reload(std::chrono::system_clock::now());
  credentials_reloaded(st);
  if (!st) return false;
  const auto next = std::chrono::time_point_cast<std::chrono::seconds>(credentials_->current()->crl_next_update());
  log_.log(Level::notice, events::kCrlUpdated, "a newer CRL from the secretariat is in force",
           {{"NEXT_UPDATE", policy::format_rfc3339(next)}});
  return true;
}

AuditOptions App::audit_options(const Config& cfg) {
  AuditOptions ao;
  ao.dir = cfg.daemon.state_dir;
  ao.checkpoint_every = cfg.audit.checkpoint_every;
  ao.checkpoint_interval = std::chrono::duration_cast<std::chrono::seconds>(cfg.audit.checkpoint_interval);
  ao.group_max_records = cfg.audit.group_max_records;
  ao.group_max_wait = cfg.audit.group_max_wait;
  ao.retention = std::chrono::duration_cast<std::chrono::hours>(cfg.audit.retention);
  ao.syslog_backlog = cfg.audit.syslog_backlog;
  ao.hostname = cfg.network.facility;
  if (const auto t = parse_syslog_target(cfg.audit.syslog)) {
    ao.syslog_socket = t->unix_path;
    ao.syslog_tls_host = t->tls_host;
    ao.syslog_tls_port = t->tls_port;
    ao.syslog_ca = cfg.audit.syslog_ca;
  }
  return ao;
}

void App::audit_daemon_act(std::string event, AuditOutcome outcome, std::string code, std::string detail) {
  AuditRecord r;
  r.event = std::move(event);
  r.action = r.event == "config_reload" ? AuditAction::update : AuditAction::execute;
  r.outcome = outcome;
  r.facility = config()->network.facility;
  r.user = r.facility + "/hiegated";
  r.reason_code = std::move(code);
  r.detail = std::move(detail);
  audit_->append(std::move(r), [](Status) {});  // audit_unavailable is logged by the trail
}

void App::prune_audit() {
  audit_->prune("hiegated", [](Result<std::uint64_t>) {});
  prune_timer_.expires_after(std::chrono::hours(24));
  prune_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !stopping_) prune_audit();
  });
}


Status App::start_tunnels(const Config& cfg) {
  TunnelManagerHooks hooks;
  hooks.functions = [this] { return gateway_->mode().allowed; };
  // A suspend_facility order stops that facility's tunnels too, both ways.
  hooks.facility_permitted = [this](const std::string& facility) {
    return !gateway_->mode().orders.facility_suspended(facility);
  };
  hooks.audit = [this](const transport::TunnelRecord& r) {
    log_.log(r.ended == "closed" ? Level::info : Level::notice, events::kTunnelConnection,
             "tunnel connection " + r.ended,
             {{"TUNNEL", r.tunnel}, {"SERVICE", r.service}, {"PEER", r.facility},
              {"DURATION_MS", std::to_string(r.duration.count())},
              {"BYTES_TO_PEER", std::to_string(r.bytes_to_peer)},
              {"BYTES_FROM_PEER", std::to_string(r.bytes_from_peer)}, {"ENDED", r.ended}});
    gateway_->audited(tunnel_audit_record(r), [](Status) {});
  };
  // The access is recorded before it happens: no byte flows until the
  // opening is durable, and none at all if the trail cannot be written.
  hooks.opened = [this](const transport::TunnelRecord& r, std::function<void(bool)> done) {
    gateway_->audited(tunnel_audit_record(r), [done = std::move(done)](Status st) { done(static_cast<bool>(st)); });
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

Status App::start_directive_service(const Config& cfg) {
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

Status App::start_peer_network(const Config& cfg) {
  transport::CredentialPaths paths{cfg.tls.cert, cfg.tls.key, cfg.tls.ca, cfg.tls.crl, {}};
  if (!cfg.tls.crl_url.empty()) paths.crl_update = cfg.daemon.state_dir / kPulledCrl;
  // Under systemd the unit hands the key over (LoadCredential=tls-key), so
  // that key.pem may stay readable by root only.
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds != nullptr && *creds != '\0')
    paths.key_credential = std::filesystem::path(creds) / "tls-key";
  transport::CredentialOptions co;
  co.network = cfg.network.id;
  // Checked on every load, so a renewed certificate for anyone else is
  // refused at reload as it is at start-up.
  co.expected_identity = transport::PeerIdentity{transport::PeerIdentity::Kind::facility, cfg.network.id,
                                                 cfg.network.facility};
  co.crl_grace = std::chrono::duration_cast<std::chrono::seconds>(cfg.tls.crl_grace);
  co.expiry_warning = std::chrono::duration_cast<std::chrono::hours>(cfg.tls.expiry_warning);
  auto creds = transport::CredentialStore::open(paths, co, std::chrono::system_clock::now());
  if (!creds) return std::move(creds).error();
  credentials_ = std::move(*creds);
  for (const auto& w : credentials_->current()->warnings(std::chrono::system_clock::now())) {
    log_.log(Level::warning, events::kTlsWarning, w);
  }
  transport::TlsSettings ts;
  ts.handshake_timeout = cfg.tls.handshake_timeout;
  tls_ = transport::TlsContext::create(credentials_, ts);
  transport::CredentialWatchOptions wo;
  wo.debounce = std::chrono::seconds(1);
  wo.on_reload = [this](const Status& st) { credentials_reloaded(st); };
  if (auto w = transport::CredentialWatcher::start(ioc_, credentials_, wo)) {
    credential_watch_ = std::move(*w);
  } else {
    log_.log(Level::error, events::kTlsReloadFailed,
             "TLS credential files are not watched (reload with SIGHUP): " + w.error().message,
             {{"CODE", w.error().code}});
  }
  add_peer_metrics(metrics_, {[this]() -> std::optional<transport::PeerServerStats> {
                                if (!peer_server_) return std::nullopt;
                                return peer_server_->stats();
                              },
                              [this] { return credentials_->current(); },
                              [] { return std::chrono::system_clock::now(); }});
  transport::PeerClientOptions pco;
  pco.request_timeout = cfg.peer_api.fetch_timeout;
  pco.connect_timeout = std::min(cfg.peer_api.fetch_timeout, pco.connect_timeout);
  pco.handshake_timeout = std::min(cfg.peer_api.fetch_timeout, pco.handshake_timeout);
  pco.max_per_peer = cfg.peer_api.connections_per_peer;
  pco.hold_body = [this](std::uint64_t bytes) { return memory_->try_hold(bytes); };
  peer_client_ = std::make_unique<transport::PeerClient>(ioc_, tls_, pco);
  transport::PeerServerOptions pso;
  pso.address = cfg.peer_api.address;
  pso.port = cfg.peer_api.port;
  pso.max_connections = cfg.peer_api.max_connections;
  pso.max_body_bytes = cfg.peer_api.max_body_bytes;
  pso.request_timeout = cfg.peer_api.request_timeout;
  pso.idle_timeout = cfg.peer_api.idle_timeout;
  pso.handshake_timeout = cfg.tls.handshake_timeout;
  pso.max_connections_per_facility = cfg.peer_api.max_connections_per_facility;
  pso.max_handshakes_per_address = cfg.peer_api.max_handshakes_per_address;
  pso.facility_requests_per_second = cfg.peer_api.requests_per_second_per_facility;
  pso.facility_request_burst = static_cast<double>(cfg.peer_api.request_burst_per_facility);
  pso.on_handshake_failure = [this](const std::string& remote, const Error& why) {
    log_.log(Level::notice, events::kPeerRefused, "peer handshake refused: " + why.message,
             {{"REMOTE", remote}, {"CODE", why.code}});
  };
  pso.track_request = [this](const transport::PeerRequest& r, std::function<void()> cut) -> InFlight::Handle {
    const auto f = peer_function(r.path);
    // A request the mode already forbids is not tracked (tracking would
    // cut it at once): its route answers the refusal, e.g. 503
    // network_stopped with the order's message for the caller's EHR.
    if (!f || !gateway_->mode().allows(*f)) return nullptr;
    return in_flight_->hold(*f, std::move(cut));
  };
  auto routes = peer_routes(*gateway_);
  if (directives_) {
    routes.push_back(directives_peer_route(*directives_, cfg.network.facility, gateway_->clock,
                                           directive_audit_hook(), directive_records()));
    routes.push_back(directives_status_route(*directives_, cfg.network.facility, gateway_->clock));
  }
  peer_server_ = std::make_unique<transport::PeerServer>(ioc_, tls_, pso, std::move(routes));
  if (auto st = peer_server_->start(); !st) return st;
  log_.log(Level::info, events::kListening,
           "peer API listening on port " + std::to_string(peer_server_->port()),
           {{"ENDPOINT", cfg.peer_api.address + ":" + std::to_string(peer_server_->port())}});
  return {};
}

ConfigPtr App::config() const {
  std::lock_guard lk(config_mu_);
  return config_;
}

void App::wait_signal() {
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

void App::shutdown(int sig) {
  if (stopping_) return;
  stopping_ = true;
  const ConfigPtr cfg = config();
  log_.log(Level::notice, events::kStopping,
           std::string("stopping on ") + (sig == SIGTERM ? "SIGTERM" : "SIGINT") +
               ": draining requests in flight",
           {{"CONNECTIONS", std::to_string(server_->connections())}});
  notifier_.stopping("stopping: draining requests in flight");
  if (puller_) puller_->stop();
  if (crl_puller_) crl_puller_->stop();
  if (credential_watch_) credential_watch_->stop();
  if (tunnels_) tunnels_->stop();
  if (watchdog_) watchdog_->stop();
  prune_timer_.cancel();
  if (mode_ticker_) mode_ticker_->stop();
  boost::system::error_code ignored;
  signals_.cancel(ignored);
  drain_timer_.expires_after(cfg->daemon.drain_timeout);
  drain_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    log_.log(Level::warning, events::kDrainTimeout,
             "drain timeout reached; closing the remaining connections",
             {{"CONNECTIONS", std::to_string(server_->connections())}});
    server_->close_all();
    if (peer_server_) peer_server_->stop();
    // Whatever still holds the loop after a forced close is abandoned.
    finish_timer_.emplace(ioc_, std::chrono::milliseconds(500));
    finish_timer_->async_wait([this](boost::system::error_code) { ioc_.stop(); });
  });
  // Both APIs drain: the local one, and the peer one (another facility's
  // fetch, a secretariat push) whose answers are written before the
  // connection closes. The deadline is one for both.
  auto left = std::make_shared<std::atomic<int>>(peer_server_ ? 2 : 1);  // callbacks of two io threads
  auto drained = [this, left] {
    if (--*left > 0) return;
    drain_timer_.cancel();
    if (finish_timer_) finish_timer_->cancel();
  };
  if (peer_server_) peer_server_->drain([this, drained] { net::post(ioc_, drained); });
  server_->drain(drained);
}

int run_app(const AppOptions& opts) {
  // Before the App (and its logger) exists, a refusal to start is still an
  // event of its own in the journal (start_failed), not only a line of text.
  Logger early;
  ConfigLoad load = load_config(opts.config_path);
  if (!load.ok()) {
    for (const auto& issue : load.issues) {
      early.log(Level::critical, events::kStartFailed,
                "refusing to start, the configuration is invalid: " + issue.to_string(),
                {{"CODE", "config_invalid"}, {"CONFIG_KEY", issue.key}});
    }
    return kExitConfig;
  }
  if (auto st = harden_process(HardeningOptions{opts.allow_root}); !st) {
    early.log(Level::critical, events::kStartFailed, st.error().message, {{"CODE", st.error().code}});
    return kExitFailure;
  }
  App app(opts, load.config);
  return app.run();
}

}  // namespace hiegate::daemon
