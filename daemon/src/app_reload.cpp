// SIGHUP: the configuration, TLS credentials and master keys re-read; the
// previous state stays in force on any error.
#include "app_impl.hpp"

namespace hiegate::daemon {

namespace {

/// Keys that only take effect at start. A reload that changes them warns,
/// and the configuration put in force keeps their running values: what the
/// daemon reports and decides with (the facility whose orders apply, the
/// facility named to peers and in records, the cache's limits) is what it
/// runs with, until the restart. Returns the keys kept.
std::vector<std::string> keep_restart_only(Config& next, const Config& running) {
  std::vector<std::string> keys;
  const auto keep = [&](const char* key, auto get) {
    auto& now = get(next);
    const auto& was = get(running);
    if (now == was) return;
    keys.emplace_back(key);
    now = was;
  };
  keep("network.id", [](auto& c) -> auto& { return c.network.id; });
  keep("network.facility", [](auto& c) -> auto& { return c.network.facility; });
  keep("daemon.threads", [](auto& c) -> auto& { return c.daemon.threads; });
  keep("daemon.state_dir", [](auto& c) -> auto& { return c.daemon.state_dir; });
  const auto listen_str = [](const Config& c) {
    std::string s;
    for (const auto& l : c.local_api.listen) s += l.to_string() + ",";
    return s;
  };
  if (listen_str(next) != listen_str(running)) {
    keys.emplace_back("local_api.listen");
    next.local_api.listen = running.local_api.listen;
  }
  keep("local_api.unix_socket", [](auto& c) -> auto& { return c.local_api.unix_socket; });
  keep("local_api.unix_socket_mode", [](auto& c) -> auto& { return c.local_api.unix_socket_mode; });
  keep("audit", [](auto& c) -> auto& { return c.audit; });
  keep("store.master_key", [](auto& c) -> auto& { return c.store.master_key; });
  keep("store.cache_max_bytes", [](auto& c) -> auto& { return c.store.cache_max_bytes; });
  keep("store.cache_ttl", [](auto& c) -> auto& { return c.store.cache_ttl; });
  // Whole sections read at start. The TLS files themselves are re-read on
  // reload (and when they change); their paths and the settings are not.
  keep("tls", [](auto& c) -> auto& { return c.tls; });
  keep("peer_api", [](auto& c) -> auto& { return c.peer_api; });
  keep("directives", [](auto& c) -> auto& { return c.directives; });
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
  auto next = std::make_shared<Config>(*load.config);
  for (const auto& key : keep_restart_only(*next, *old)) {
    log_.log(Level::warning, events::kConfigRestartNeeded,
             key + " changed; the new value takes effect at the next restart",
             {{"CONFIG_KEY", key}});
    applied += " restart_needed=" + key;
  }
  {
    std::lock_guard lk(config_mu_);
    config_ = next;
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
