// SIGHUP: the configuration, TLS credentials and master keys re-read; the
// previous state stays in force on any error.
#include "app_impl.hpp"

namespace hiegate::daemon {

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
  if (!(a.audit == b.audit)) keys.emplace_back("audit");
  if (a.store.master_key != b.store.master_key) keys.emplace_back("store.master_key");
  if (a.store.cache_max_bytes != b.store.cache_max_bytes) keys.emplace_back("store.cache_max_bytes");
  if (a.store.cache_ttl != b.store.cache_ttl) keys.emplace_back("store.cache_ttl");
  // Whole sections read at start. The TLS files themselves are re-read on
  // reload (and when they change); their paths and the settings are not.
  if (!(a.tls == b.tls)) keys.emplace_back("tls");
  if (!(a.peer_api == b.peer_api)) keys.emplace_back("peer_api");
  if (!(a.directives == b.directives)) keys.emplace_back("directives");
  return keys;
}

}  // namespace

void App::reload() {
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
    audit_daemon_act("config_reload", AuditOutcome::serious_failure, "config_invalid",
                     "rejected: " + std::to_string(load.issues.size()) + " issue(s), first " +
                         load.issues.front().key + " line " + std::to_string(load.issues.front().line));
    return;
  }
  // Tunnels first: they are the part of a reload that can fail after
  // validation (a new listener whose port is taken). Then nothing changes:
  // apply() leaves every tunnel as it was, and the configuration in force
  // stays the previous one. Once the new one shows (its digest in
  // /v1/status), the listeners it adds are bound.
  if (tunnels_) {
    if (auto st = tunnels_->apply(load.config->tunnels); !st) {
      log_.log(Level::error, events::kConfigRejected,
               "configuration rejected, the previous one stays in force: tunnels: " + st.error().message,
               {{"CODE", st.error().code}});
      notifier_.ready("reload failed: tunnels not applied; previous configuration in force; " + summary());
      audit_daemon_act("config_reload", AuditOutcome::serious_failure, st.error().code,
                       "rejected: tunnels: " + st.error().message);
      return;
    }
  }
  std::string applied = "digest=" + load.config->digest.substr(0, 16);
  for (const auto& key : restart_only_changes(*old, *load.config)) {
    log_.log(Level::warning, events::kConfigRestartNeeded,
             key + " changed; the new value takes effect at the next restart",
             {{"CONFIG_KEY", key}});
    applied += " restart_needed=" + key;
  }
  {
    std::lock_guard lk(config_mu_);
    config_ = load.config;
  }
  log_.set_level(load.config->daemon.log_level);
  memory_->set_limit(load.config->daemon.document_memory_bytes);
  if (credentials_) {
    const Status st = credentials_->reload(std::chrono::system_clock::now());
    credentials_reloaded(st);
    if (!st) applied += " tls_unchanged=" + st.error().code;
  }
  // Keys too: a new master key version next to the configured file starts
  // the rekey; key files the store refuses leave the ones in force.
  adopt_keys_from_files([this](Result<RekeyStatus> st) {
    if (!st) {
      log_.log(Level::error, events::kKeysNotReloaded,
               "master keys not re-read, the ones in force stay: " + st.error().message,
               {{"CODE", st.error().code}});
    }
  });
  log_.log(Level::notice, events::kConfigReloaded, "configuration reloaded",
           {{"CONFIG_DIGEST", load.config->digest.substr(0, 16)}});
  audit_daemon_act("config_reload", AuditOutcome::success, "", applied);
  notifier_.ready(summary());
}

void App::credentials_reloaded(const Status& st) {
  if (!st) {
    log_.log(Level::error, events::kTlsReloadFailed,
             "TLS credentials not reloaded, the previous ones stay in force: " + st.error().message,
             {{"CODE", st.error().code}});
    return;
  }
  // Pooled connections were checked against the old CRL: the next request
  // to each peer handshakes again under the new one.
  if (peer_client_) peer_client_->drop_connections();
  if (peer_server_) peer_server_->drop_connections();
  log_.log(Level::info, events::kTlsReloaded, "TLS credentials reloaded",
           {{"SERIAL", credentials_->current()->serial()}});
  for (const auto& w : credentials_->current()->warnings(std::chrono::system_clock::now())) {
    log_.log(Level::warning, events::kTlsWarning, w);
  }
}

nlohmann::json App::rekey_json(const RekeyStatus& rk) {
  return {{"running", rk.running}, {"from_version", rk.from_version}, {"to_version", rk.to_version},
          {"done", rk.done}, {"total", rk.total}};
}

void App::rekey_ended(const Result<RekeyStatus>& r) {
  if (r) {
    log_.log(Level::notice, events::kRekeyFinished, "rekey finished",
             {{"KEY_VERSION", std::to_string(r->to_version)}, {"RECORDS", std::to_string(r->done)}});
  } else {
    log_.log(Level::error, events::kRekeyFinished, "rekey stopped: " + r.error().message, {{"CODE", r.error().code}});
  }
  audit_daemon_act("key_operation", r ? AuditOutcome::success : AuditOutcome::serious_failure,
                   r ? "rekey_finished" : r.error().code,
                   r ? "rekey to key version " + std::to_string(r->to_version) + " finished"
                     : "rekey failed: " + r.error().message);
}

void App::adopt_keys_from_files(std::function<void(Result<RekeyStatus>)> then) {
  auto ring = crypto::KeyRing::load(config()->store.master_key);
  if (!ring) return then(std::move(ring).error());
  const RekeyStatus before = store_->rekey_status();
  store_->adopt_keys(
      std::make_shared<const crypto::KeyRing>(std::move(*ring)),
      [this, before, then = std::move(then)](Result<RekeyStatus> st) {
        if (!st || !st->running || (before.running && before.to_version == st->to_version)) {
          return then(std::move(st));
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
        // Reported once the record is durable; the rekey runs either way.
        gateway_->audited(std::move(rec), [then, status = *st](Status) { then(status); });
      },
      [this](Result<RekeyStatus> done) { rekey_ended(done); });
}

void App::rekey_now(Responder r) {
  auto resp = std::make_shared<Responder>(std::move(r));
  adopt_keys_from_files([resp](Result<RekeyStatus> st) {
    if (!st) return resp->send(error_response(http::status::conflict, st.error().code, st.error().message));
    resp->send(json_response(st->running ? http::status::accepted : http::status::ok, {{"rekey", rekey_json(*st)}}));
  });
}

}  // namespace hiegate::daemon
