// The daemon's process: the App that starts the components in order, serves
// until a signal, reloads on SIGHUP and drains on SIGTERM. Private to
// daemon/src: app.cpp (start, signals, shutdown), app_reload.cpp (reload,
// credentials, keys), app_status.cpp (status, alerts, the mode's ticks).
#pragma once

#include <boost/asio.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "alerts.hpp"
#include "hiegate/daemon/access_watch.hpp"
#include "clinical_common.hpp"
#include "export_api.hpp"
#include "hiegate/crypto/keys.hpp"
#include "hiegate/daemon/app.hpp"
#include "hiegate/daemon/audit.hpp"
#include "hiegate/daemon/cache_purges.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/directive_api.hpp"
#include "hiegate/daemon/directive_pull.hpp"
#include "hiegate/daemon/directive_service.hpp"
#include "hiegate/daemon/events.hpp"
#include "hiegate/daemon/gateway.hpp"
#include "hiegate/daemon/hardening.hpp"
#include "hiegate/daemon/in_flight.hpp"
#include "hiegate/daemon/local_api_server.hpp"
#include "hiegate/daemon/memory_budget.hpp"
#include "hiegate/daemon/mode_api.hpp"
#include "hiegate/daemon/notify.hpp"
#include "hiegate/daemon/store.hpp"
#include "hiegate/daemon/tunnels.hpp"
#include "hiegate/transport/credential_watch.hpp"
#include "hiegate/transport/credentials.hpp"
#include "hiegate/transport/peer_client.hpp"
#include "hiegate/transport/peer_server.hpp"
#include "hiegate/transport/tls.hpp"
#include "peer_metrics.hpp"
#include "routes.hpp"
#include "system_api.hpp"

namespace hiegate::daemon {

namespace net = boost::asio;

class App {
public:
  App(const AppOptions& opts, ConfigPtr cfg)
      : opts_(opts),
        log_(Logger::detect_sink(), cfg->daemon.log_level),
        ioc_(static_cast<int>(cfg->daemon.threads)),
        signals_(ioc_, SIGTERM, SIGINT, SIGHUP),
        drain_timer_(ioc_),
        prune_timer_(ioc_),
        config_(std::move(cfg)),
        started_(std::chrono::steady_clock::now()),
        started_wall_(std::chrono::system_clock::now()) {}

  int run();

private:
  int fail_start(const Error& e);

  /// Keys, store, directives, TLS and the peer API, in that order; the first
  /// failure stops the start with a message saying what to fix.
  Status start_components(const Config& cfg);

  /// Polls [directives] pull_url (checked by the config) when set; each body
  /// goes the way of a push.
  void start_directive_pull(const Config& cfg);
  /// [tls] crl_url: newer CRLs from the secretariat, checked against the CA,
  /// kept as <state_dir>/crl-pulled.pem and put in force at once.
  void start_crl_pull(const Config& cfg);
  /// Takes a pulled CRL: true when it is in force or nothing newer.
  bool take_crl(const std::string& pem, const std::filesystem::path& keep);

  static AuditOptions audit_options(const Config& cfg);

  /// Records an act of the daemon itself (reload, rekey) in the trail; the
  /// act has already happened, so a failure to record is only logged.
  void audit_daemon_act(std::string event, AuditOutcome outcome, std::string code, std::string detail);

  /// Retention: prunes at start and then daily.
  void prune_audit();

  Status start_tunnels(const Config& cfg);

  Status start_directive_service(const Config& cfg);

  Status start_peer_network(const Config& cfg);

  /// The purge_cache orders in force not yet carried out.
  void check_purges();

  /// Windows open and close on time: cut what the mode no longer allows.
  void mode_tick();

  /// One alert condition now: logged once when it starts and once when it ends.
  void alert(const std::string& name, bool on, Level level, const std::string& what);

  /// Conditions that arise while the gateway runs, with no request to show
  /// them: the secretariat's heartbeat (spec §4: "the gateway alerts at
  /// once"), the CRL and our own certificate.
  void check_alerts();
  /// The conditions of check_alerts() other than the access anomalies.
  void check_conditions();

  /// The access anomalies of [alerts] (AccessWatch), each an alert named by
  /// its kind and user: raised while the count over the window exceeds the
  /// threshold.
  void check_anomalies();

  /// Every delivered envelope is logged and audited; an accepted one may
  /// change the mode, so the tunnels and the requests in flight re-check at
  /// once.
  /// What an accepted or rejected directive changes at once: logs, mode,
  /// tunnels, the status line, a pull when behind. Its record goes through
  /// directive_records() (waited for before a push or local delivery is
  /// answered).
  DirectiveAuditHook directive_audit_hook();
  AuditAppend directive_records();

  ConfigPtr config() const;

  std::string summary() const;

  void wait_signal();

  void reload();

  /// Logs the outcome of a credentials reload (SIGHUP or the file watch).
  void credentials_reloaded(const Status& st);

  void shutdown(int sig);

  static nlohmann::json rekey_json(const RekeyStatus& rk);

  void rekey_ended(const Result<RekeyStatus>& r);

  /// Reads the key files again (a few small files; the ring at start stays
  /// in use by the audit trail) and hands the ring to the store, which
  /// refuses a wrong or incomplete one without changing anything. A ring
  /// with a new active version starts the background rekey, logged and
  /// audited before `then` sees its status; a rekey already under way to
  /// that version is only reported.
  void adopt_keys_from_files(std::function<void(Result<RekeyStatus>)> then);

  /// POST /v1/store/rekey (hiegatectl store rekey): 202 when a rekey runs,
  /// 200 when there is nothing to do, 409 when the key files are refused.
  void rekey_now(Responder r);

  void fill_status(nlohmann::json& j) const;

  AppOptions opts_;
  Logger log_;
  Metrics metrics_;
  Notifier notifier_;
  net::io_context ioc_;
  net::signal_set signals_;
  net::steady_timer drain_timer_;
  net::steady_timer prune_timer_;
  std::optional<net::steady_timer> finish_timer_;
  std::optional<Watchdog> watchdog_;
  std::optional<Watchdog> mode_ticker_;  ///< periodic re-check of the requests in flight
  Alerts alerts_;                        ///< conditions raised now (event loop only)
  AccessWatch watch_;                    ///< access anomalies ([alerts])
  std::map<std::string, Anomaly> anomalies_;  ///< raised now, by alert key (event loop only)
  mutable std::mutex alerts_mu_;
  nlohmann::json alerts_json_ = nlohmann::json::array();  ///< every alert raised now, for /v1/status
  std::unique_ptr<InFlight> in_flight_;
  std::unique_ptr<MemoryBudget> memory_;  ///< document bytes in memory ([daemon] document_memory_bytes)
  std::unique_ptr<CachePurges> purges_;
  mutable std::mutex config_mu_;
  ConfigPtr config_;
  std::shared_ptr<const crypto::KeyRing> keys_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<DirectiveService> directives_;
  std::shared_ptr<transport::CredentialStore> credentials_;
  std::shared_ptr<transport::TlsContext> tls_;
  std::unique_ptr<transport::CredentialWatcher> credential_watch_;
  std::unique_ptr<transport::PeerClient> peer_client_;
  std::unique_ptr<DirectivePuller> puller_;  ///< uses peer_client_: declared after it
  std::unique_ptr<DirectivePuller> crl_puller_;  ///< [tls] crl_url; as puller_
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

}  // namespace hiegate::daemon
