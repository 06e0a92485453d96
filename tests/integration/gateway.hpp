// A real hiegated process on ephemeral loopback ports with a temp config.
#pragma once

#include <unistd.h>

#include <csignal>
#include <memory>
#include <string>

#include "support/http_client.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace hiegate::test {

inline constexpr const char* kToken = "hgt_integration-test-token";
/// The administrator Gateway::put_user acts as.
inline constexpr const char* kAdmin = "it-admin";
// sha256("hgt_integration-test-token"), computed by the tests' own helper.
std::string token_hash(const std::string& token);


class Gateway {
public:
  /// `extra_local_api`: lines appended to [local_api]; `extra`: more TOML.
  explicit Gateway(std::string extra_local_api = "", std::string extra = "",
                   std::vector<std::string> env = {}, std::string facility = "1312345678");

  std::string config_text(const std::string& extra_local_api, const std::string& extra = "") const;
  void write_config(const std::string& text) const;

  /// Starts the daemon and waits until both listeners are up. A previous
  /// run's log is moved to hiegated.log.1 first (so a restart waits for the
  /// new run's lines).
  void start();
  /// SIGTERM, then the exit status (or -1 if it did not end within 10 s).
  int stop();
  [[nodiscard]] Endpoint tcp() const { return Endpoint{tcp_}; }
  [[nodiscard]] Endpoint unix_socket() const { return Endpoint{"unix:" + (dir_ / "local.sock").string()}; }
  [[nodiscard]] std::string log() const;
  [[nodiscard]] Child& process() { return *child_; }
  [[nodiscard]] const TempDir& dir() const { return dir_; }
  [[nodiscard]] std::filesystem::path config_path() const { return dir_ / "hiegate.toml"; }

  HttpResult get(const std::string& target, bool auth = true) const;
  /// An authenticated request with optional extra headers and JSON body.
  HttpResult call(const std::string& method, const std::string& target,
                  std::map<std::string, std::string> headers = {}, const std::string& body = {}) const;
  /// PUT /v1/users/ID with `body` (JSON) as the gateway's administrator,
  /// kAdmin, which registers itself first (the first admin of a gateway
  /// names itself; docs/openapi.yaml).
  HttpResult put_user(const std::string& id, const std::string& body) const;
  [[nodiscard]] const std::string& facility() const { return facility_; }

private:
  TempDir dir_;
  std::vector<std::string> env_;
  std::unique_ptr<Child> child_;
  std::string tcp_;
  std::string facility_;
};

}  // namespace hiegate::test
