#include "integration/gateway.hpp"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"

namespace hiegate::test {

std::string token_hash(const std::string& token) {
  return "sha256:" + crypto::to_hex(crypto::sha256(token));
}

Gateway::Gateway(std::string extra_local_api, std::string extra, std::vector<std::string> env,
                 std::string facility)
    : env_(std::move(env)), facility_(std::move(facility)) {
  const auto key = crypto::random_bytes(32);
  dir_.write("master-key", std::string(key.begin(), key.end()), 0400);
  write_config(config_text(extra_local_api, extra));
}

std::string Gateway::config_text(const std::string& extra_local_api, const std::string& extra) const {
  return "[network]\nid = \"nishitama\"\nfacility = \"" + facility_ + "\"\n"
         "[daemon]\nthreads = 2\ndrain_timeout = \"5s\"\nstate_dir = \"" +
         (dir_ / "state").string() +
         "\"\n[store]\nmaster_key = \"" + (dir_ / "master-key").string() +
         "\"\n"
         "[local_api]\nlisten = [\"127.0.0.1:0\"]\nunix_socket = \"" +
         (dir_ / "local.sock").string() + "\"\n" + extra_local_api +
         "\n[[local_api.tokens]]\nname = \"test\"\nhash = \"" + token_hash(kToken) + "\"\n" + extra;
}

void Gateway::write_config(const std::string& text) const { dir_.write("hiegate.toml", text, 0640); }

void Gateway::start() {
  std::vector<std::string> argv = {binary("hiegated").string(), "--config", config_path().string()};
  if (::geteuid() == 0) argv.emplace_back("--allow-root");
  // A restart starts a fresh log (the previous run's is kept as .1), so the
  // lines waited for below are this run's.
  child_.reset();
  std::error_code ec;
  if (std::filesystem::exists(dir_ / "hiegated.log", ec)) {
    std::filesystem::rename(dir_ / "hiegated.log", dir_ / "hiegated.log.1", ec);
  }
  child_ = std::make_unique<Child>(argv, env_, dir_ / "hiegated.log");
  const auto line = wait_for_line(dir_ / "hiegated.log", "local API listening on 127.0.0.1:");
  ASSERT_TRUE(line) << "daemon did not start:\n" << log();
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*line, m, std::regex("127\\.0\\.0\\.1:[0-9]+")));
  tcp_ = m.str();
  ASSERT_TRUE(wait_for_line(dir_ / "hiegated.log", "ready")) << log();
}

int Gateway::stop() {
  if (!child_) return -1;
  child_->signal(SIGTERM);
  return child_->wait(std::chrono::seconds(10)).value_or(-1);
}

std::string Gateway::log() const {
  try {
    return read_file(dir_ / "hiegated.log");
  } catch (const std::exception&) {
    return {};
  }
}

HttpResult Gateway::call(const std::string& method, const std::string& target,
                          std::map<std::string, std::string> headers, const std::string& body) const {
  headers["Authorization"] = std::string("Bearer ") + kToken;
  if (!body.empty()) headers.try_emplace("Content-Type", "application/json");
  return http_request(tcp(), method, target, headers, body);
}

HttpResult Gateway::get(const std::string& target, bool auth) const {
  std::map<std::string, std::string> h;
  if (auth) h["Authorization"] = std::string("Bearer ") + kToken;
  return http_request(tcp(), "GET", target, h);
}

HttpResult Gateway::put_user(const std::string& id, const std::string& body) const {
  const auto admin = call("PUT", std::string("/v1/users/") + kAdmin, {{"X-HIE-User", kAdmin}},
                          R"({"role":"admin","department":"情報システム"})");
  if (admin.status != 200) return admin;
  return call("PUT", "/v1/users/" + id, {{"X-HIE-User", kAdmin}}, body);
}

}  // namespace hiegate::test
