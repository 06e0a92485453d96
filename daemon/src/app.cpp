#include "hiegate/daemon/app.hpp"

#include <boost/asio.hpp>

#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hiegate/daemon/config.hpp"
#include "hiegate/daemon/events.hpp"
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
    add_system_routes(router_, SystemContext{
                                   [this] { return config(); },
                                   metrics_,
                                   [this](nlohmann::json& j) { fill_status(j); },
                               });
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
    log_.log(Level::notice, events::kStopped, "hiegated stopped");
    return kExitOk;
  }

private:
  ConfigPtr config() const {
    std::lock_guard lk(config_mu_);
    return config_;
  }

  std::string summary() const {
    const ConfigPtr cfg = config();
    return "serving facility " + cfg->network.facility + "; mode normal; " +
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

  void fill_status(nlohmann::json& j) const {
    const ConfigPtr cfg = config();
    const auto up = std::chrono::steady_clock::now() - started_;
    j["version"] = HIEGATE_VERSION;
    j["network"] = cfg->network.id;
    j["facility"] = cfg->network.facility;
    j["uptime_seconds"] = std::chrono::duration_cast<std::chrono::seconds>(up).count();
    j["started_at"] = format_utc(started_wall_);
    j["config"] = {{"path", cfg->source.string()}, {"digest", cfg->digest}};
    j["mode"] = {{"state", "normal"}};
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
