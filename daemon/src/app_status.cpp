// What the daemon shows of itself: /v1/status, alerts, and the ticks that
// follow the operating mode.
#include "app_impl.hpp"

namespace hiegate::daemon {

void App::check_purges() {
  if (directives_) purges_->check(gateway_->mode().orders.purges);
}

void App::mode_tick() {
  if (const auto n = in_flight_->recheck(); n > 0) {
    log_.log(Level::notice, events::kRequestsCut,
             std::to_string(n) + " requests in flight cut: the mode in force forbids their function",
             {{"COUNT", std::to_string(n)}});
  }
  check_purges();
  check_alerts();
}

void App::alert(const std::string& name, bool on, Level level, const std::string& what) {
  const auto change = alerts_.set(name, on);
  if (!change) return;
  if (change->raised) {
    log_.log(level, events::kAlertRaised, what, {{"ALERT", name}});
  } else {
    log_.log(Level::notice, events::kAlertCleared, name + " is over", {{"ALERT", name}});
  }
}

void App::check_alerts() {
  check_anomalies();
  check_conditions();
  // What /v1/status shows (read from any thread).
  auto raised = nlohmann::json::array();
  for (const auto& name : alerts_.raised_names()) raised.push_back({{"alert", name}});
  for (const auto& [key, a] : anomalies_) {
    nlohmann::json entry = {{"alert", a.alert}, {"count", a.count}, {"threshold", a.threshold}};
    if (!a.user.empty()) entry["user"] = a.user;
    raised.push_back(std::move(entry));
  }
  std::lock_guard lk(alerts_mu_);
  alerts_json_ = std::move(raised);
}

void App::check_conditions() {
  if (directives_ && gateway_) {
    const auto f = gateway_->mode().freshness;
    alert("directives_stale", f.stale, Level::warning,
          "no unexpired heartbeat from the secretariat; after [directives] stale_grace the gateway enters "
          "stale_mode: check the push or pull path to the secretariat");
    alert("directives_behind", f.behind, Level::warning,
          "the secretariat's heartbeat names newer orders than this gateway holds: they did not arrive; "
          "check the push or pull path, or apply them from media (hiegatectl directives apply)");
    alert("directives_stale_mode", f.grace_over, Level::error,
          std::string("stale or behind for longer than stale_grace: now in stale_mode (") +
              std::string(f.fallback ? policy::name(*f.fallback) : "keep") + ")");
  }
  if (credentials_) {
    const auto c = credentials_->current();
    const auto now = std::chrono::system_clock::now();
    const bool usable = c->crl_usable(now);
    alert("crl_refusing", !usable, Level::critical,
          "the CRL is past its nextUpdate beyond [tls] crl_grace: every peer is refused until a fresh CRL is "
          "installed");
    alert("crl_stale", usable && c->crl_stale(now), Level::warning,
          "the CRL is past its nextUpdate (within [tls] crl_grace): install a fresh CRL");
    const bool expired = now >= c->not_after();
    alert("certificate_expired", expired, Level::critical,
          "this gateway's certificate has expired: peers refuse it; install the renewed certificate");
    alert("certificate_expiring", !expired && now + c->options().expiry_warning >= c->not_after(), Level::warning,
          "this gateway's certificate expires within [tls] expiry_warning: have it renewed");
  }
}

void App::check_anomalies() {
  const ConfigPtr cfg = config();
  std::map<std::string, Anomaly> now;
  for (auto& a : watch_.anomalies(cfg->alerts, std::chrono::system_clock::now())) {
    now.emplace(a.alert + "/" + a.user, std::move(a));
  }
  const auto window = std::to_string(std::chrono::duration_cast<std::chrono::minutes>(cfg->alerts.window).count());
  for (const auto& [key, a] : now) {
    if (anomalies_.count(key) != 0) continue;
    std::string what;
    if (a.alert == "access_many_patients") {
      what = a.user + " read the information of " + std::to_string(a.count) + " different patients within " + window +
             " minutes (more than " + std::to_string(a.threshold) + "): check these accesses (規程 第29条)";
    } else if (a.alert == "access_many_refusals") {
      what = a.user + " was refused " + std::to_string(a.count) + " times within " + window + " minutes (more than " +
             std::to_string(a.threshold) + "): check for probing";
    } else {
      what = std::to_string(a.count) + " emergency accesses within " + window + " minutes (more than " +
             std::to_string(a.threshold) + "): review them (GET /v1/emergency-accesses)";
    }
    log_.log(Level::warning, events::kAlertRaised, what,
             {{"ALERT", a.alert}, {"USER", a.user}, {"COUNT", std::to_string(a.count)}});
  }
  for (const auto& [key, a] : anomalies_) {
    if (now.count(key) != 0) continue;
    log_.log(Level::notice, events::kAlertCleared, a.alert + (a.user.empty() ? "" : " of " + a.user) + " is over",
             {{"ALERT", a.alert}, {"USER", a.user}});
  }
  anomalies_ = std::move(now);
}

AuditAppend App::directive_records() {
  return [this](AuditRecord r, std::function<void(Status)> durable) {
    gateway_->audited(std::move(r), std::move(durable));
  };
}

DirectiveAuditHook App::directive_audit_hook() {
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
    mode_tick();
    notifier_.status(summary());
    // A heartbeat that names newer orders than held: fetch them now rather
    // than at the next poll.
    if (puller_ && gateway_ && gateway_->mode().freshness.behind) puller_->pull_soon();
  };
}

std::string App::summary() const {
  const ConfigPtr cfg = config();
  return "serving facility " + cfg->network.facility + "; mode " +
         std::string(gateway_ ? gateway_->mode().summary() : "starting") + "; " +
         std::to_string(server_ ? server_->connections() : 0) + " local connections";
}

void App::fill_status(nlohmann::json& j) const {
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
  {
    std::lock_guard lk(alerts_mu_);
    j["alerts"] = alerts_json_;
  }
  j["memory"] = {{"document_bytes", memory_->in_use()},
                 {"limit_bytes", memory_->limit()},
                 {"refused", memory_->refused_total()}};
}

}  // namespace hiegate::daemon
