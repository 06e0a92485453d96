// Lifecycle of a real hiegated: systemd notifications, reload, drain, refusal
// to start on a bad configuration.
#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <regex>
#include <thread>

#include "integration/gateway.hpp"
#include "support/notify_listener.hpp"

namespace hiegate::test {
namespace {

using namespace std::chrono_literals;


TEST(Lifecycle, NotifiesSystemdOfEveryStateAndPingsTheWatchdog) {
  TempDir nd;
  NotifyListener notify(nd / "notify.sock");
  Gateway gw("", "", {notify.env(), "WATCHDOG_USEC=200000"});
  gw.start();
  const std::string ready = notify.wait_for("READY=1", 5s);
  ASSERT_FALSE(ready.empty());
  EXPECT_NE(ready.find("STATUS=serving facility 1312345678"), std::string::npos) << ready;
  // Pings every WATCHDOG_USEC/2 from the event loop.
  EXPECT_FALSE(notify.wait_for("WATCHDOG=1", 2s).empty());

  gw.process().signal(SIGHUP);
  const std::string reloading = notify.wait_for("RELOADING=1", 5s);
  ASSERT_FALSE(reloading.empty());
  EXPECT_TRUE(std::regex_search(reloading, std::regex("MONOTONIC_USEC=[0-9]+")));
  ASSERT_TRUE(eventually([&] {
    std::size_t n = 0;
    for (const auto& m : notify.messages()) n += m.find("READY=1") != std::string::npos;
    return n >= 2;
  }));

  gw.process().signal(SIGTERM);
  EXPECT_FALSE(notify.wait_for("STOPPING=1", 5s).empty());
  EXPECT_EQ(gw.process().wait(10s), 0);
}

TEST(Lifecycle, ReloadSwapsAValidConfigAndKeepsTheOldOneOnError) {
  Gateway gw;
  gw.start();
  ASSERT_EQ(gw.get("/v1/status").status, 200);
  const std::string digest1 = nlohmann::json::parse(gw.get("/v1/status").body)["config"]["digest"];

  // A valid new config with a new token: the old token stops working. The
  // document memory budget takes its new limit at once too.
  const std::string new_token = "hgt_second-token";
  std::string text = gw.config_text("");
  text = std::regex_replace(text, std::regex("hash = \"sha256:[0-9a-f]+\""),
                            "hash = \"" + token_hash(new_token) + "\"");
  text = std::regex_replace(text, std::regex("threads = 2\n"), "threads = 2\ndocument_memory_bytes = 134217728\n");
  gw.write_config(text);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return gw.get("/v1/status").status == 401; }));
  auto r = http_request(gw.tcp(), "GET", "/v1/status", {{"Authorization", "Bearer " + new_token}});
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(nlohmann::json::parse(r.body)["config"]["digest"], digest1);
  EXPECT_EQ(nlohmann::json::parse(r.body)["memory"]["limit_bytes"], 134217728);

  // An invalid config: logged, and the previous snapshot keeps serving.
  gw.write_config(std::regex_replace(text, std::regex("threads = 2"), "threads = \"many\""));
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "config_rejected"));
  EXPECT_NE(gw.log().find("daemon.threads: must be an integer"), std::string::npos) << gw.log();
  r = http_request(gw.tcp(), "GET", "/v1/status", {{"Authorization", "Bearer " + new_token}});
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(gw.process().running());
}

// Keys read only at start: a reload that changes them says so in the journal
// and keeps serving.
TEST(Lifecycle, ReloadNamesTheChangesThatNeedARestart) {
  Gateway gw;
  gw.start();
  std::string text = gw.config_text("");
  text = std::regex_replace(text, std::regex("threads = 2"), "threads = 3");
  text = std::regex_replace(text, std::regex("facility = \"1312345678\""), "facility = \"1319999999\"");
  text = std::regex_replace(text, std::regex("\\[store\\]\n"), "[store]\ncache_ttl = \"2h\"\n");
  gw.write_config(text + "[peer_api]\nconnections_per_peer = 4\n[directives]\nstale_grace = \"2d\"\n");
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "config_reloaded"));
  const std::string log = gw.log();
  EXPECT_NE(log.find("daemon.threads changed; the new value takes effect at the next restart"), std::string::npos)
      << log;
  for (const char* key : {"peer_api", "store.cache_ttl", "directives", "network.facility"}) {
    EXPECT_NE(log.find(std::string(key) + " changed; the new value takes effect at the next restart"),
              std::string::npos)
        << key << "\n" << log;
  }
  EXPECT_EQ(gw.get("/v1/health", false).status, 200);
  // Until then the gateway reports, and decides with, what it runs with.
  const auto status = nlohmann::json::parse(gw.get("/v1/status").body);
  EXPECT_EQ(status["facility"], "1312345678") << status.dump();
}

TEST(Lifecycle, TwoSighupsInARowAreBothHandled) {
  Gateway gw;
  gw.start();
  gw.process().signal(SIGHUP);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] {
    const std::string log = gw.log();
    std::size_t n = 0;
    for (std::size_t p = 0; (p = log.find("config_reloaded", p)) != std::string::npos; ++p) ++n;
    return n >= 1;
  }));
  EXPECT_EQ(gw.get("/v1/health", false).status, 200);
  EXPECT_TRUE(gw.process().running());
}

TEST(Lifecycle, SigtermDuringASlowRequestFinishesItThenExitsZero) {
  Gateway gw;
  gw.start();
  RawConn c(gw.tcp());
  // A request whose body arrives slowly: in flight when SIGTERM comes.
  c.send(std::string("GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kToken +
         "\r\nContent-Length: 10\r\n\r\n12345");
  std::this_thread::sleep_for(200ms);
  gw.process().signal(SIGTERM);
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "stopping"));
  // New connections are no longer accepted.
  EXPECT_TRUE(eventually([&] { return gw.get("/v1/health", false).status != 200; }, 3s));
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(gw.process().running());
  c.send("67890");
  const std::string res = c.read_all(3s);
  EXPECT_EQ(status_of(res), 200) << res;
  EXPECT_NE(res.find("Connection: close"), std::string::npos);
  EXPECT_EQ(gw.process().wait(10s), 0);
}

TEST(Lifecycle, DrainIsBoundedByTheTimeout) {
  Gateway gw;
  std::string text = gw.config_text("");
  text = std::regex_replace(text, std::regex("drain_timeout = \"5s\""), "drain_timeout = \"500ms\"");
  gw.write_config(text);
  gw.start();
  RawConn c(gw.tcp());
  c.send(std::string("GET /v1/status HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") + kToken +
         "\r\nContent-Length: 10\r\n\r\n1");
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  gw.process().signal(SIGTERM);
  EXPECT_EQ(gw.process().wait(10s), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_NE(gw.log().find("drain_timeout"), std::string::npos);
}

TEST(Lifecycle, RefusesToStartOnABadConfig) {
  TempDir dir;
  const auto cfg = dir.write("bad.toml",
                             "[network]\nid = \"nishitama\"\nfacility = \"1312345678\"\n"
                             "[local_api]\nlisten = [\"0.0.0.0:8470\"]\nbogus = 1\n");
  std::vector<std::string> argv = {binary("hiegated").string(), "--config", cfg.string()};
  if (::geteuid() == 0) argv.emplace_back("--allow-root");
  const auto r = run(argv);
  EXPECT_EQ(r.status, 78);
  // One start_failed event per problem (journald: MESSAGE_ID, HIEGATE_EVENT).
  EXPECT_NE(r.output.find("start_failed: refusing to start, the configuration is invalid: "), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("bad.toml:5:11: local_api.listen[0]: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("is not a loopback address"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("local_api.bogus: unknown key"), std::string::npos);
  EXPECT_NE(r.output.find("CONFIG_KEY=\"local_api.bogus\""), std::string::npos) << r.output;

  const auto missing = run({binary("hiegated").string(), "--config", (dir / "none.toml").string()});
  EXPECT_EQ(missing.status, 78);
  EXPECT_NE(missing.output.find("cannot read the file"), std::string::npos);
}

TEST(Lifecycle, RefusesToRunAsRootWithoutTheFlag) {
  if (::geteuid() != 0) GTEST_SKIP() << "only meaningful as root";
  Gateway gw;
  const auto r = run({binary("hiegated").string(), "--config", gw.config_path().string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("start_failed: "), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("must not run as root"), std::string::npos) << r.output;
}

TEST(Lifecycle, RefusesASocketPathInUse) {
  Gateway first;
  first.start();
  Gateway second;
  std::string text = second.config_text("");
  text = std::regex_replace(text, std::regex("unix_socket = \"[^\"]+\""),
                            "unix_socket = \"" + (first.dir() / "local.sock").string() + "\"");
  second.write_config(text);
  std::vector<std::string> argv = {binary("hiegated").string(), "--config",
                                   second.config_path().string()};
  if (::geteuid() == 0) argv.emplace_back("--allow-root");
  const auto r = run(argv);
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("is in use by another process"), std::string::npos) << r.output;
  EXPECT_EQ(http_request(first.unix_socket(), "GET", "/v1/health").status, 200);
}

TEST(Hiegatectl, CheckConfigPrintsTheSameErrors) {
  TempDir dir;
  const auto bad = dir.write("bad.toml", "[network]\nid = \"nishitama\"\nfacility = \"x\"\n");
  auto r = run({binary("hiegatectl").string(), "check-config", bad.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("bad.toml:3:12: network.facility: must be a 10-digit"), std::string::npos)
      << r.output;
  const auto good = dir.write("good.toml", "[network]\nid = \"nishitama\"\nfacility = \"1312345678\"\n");
  r = run({binary("hiegatectl").string(), "check-config", good.string()});
  EXPECT_EQ(r.status, 0) << r.output;
}

TEST(Hiegatectl, TokenNewMakesATokenWhoseHashTheDaemonAccepts) {
  auto r = run({binary("hiegatectl").string(), "token", "new", "--name", "ehr"});
  ASSERT_EQ(r.status, 0) << r.output;
  std::smatch tm, hm;
  ASSERT_TRUE(std::regex_search(r.output, tm, std::regex("token: (hgt_[A-Za-z0-9_-]{43})")));
  ASSERT_TRUE(std::regex_search(r.output, hm, std::regex("hash = \"(sha256:[0-9a-f]{64})\"")));
  EXPECT_EQ(hm[1].str(), token_hash(tm[1].str()));

  Gateway gw;
  gw.write_config(gw.config_text("") + "[[local_api.tokens]]\nname = \"ehr\"\nhash = \"" + hm[1].str() +
                  "\"\n");
  gw.start();
  EXPECT_EQ(http_request(gw.tcp(), "GET", "/v1/status", {{"Authorization", "Bearer " + tm[1].str()}}).status,
            200);
  // hiegatectl status talks to the daemon over its Unix socket.
  const auto st = run({binary("hiegatectl").string(), "status", "--socket",
                       (gw.dir() / "local.sock").string()},
                      {"HIEGATE_TOKEN=" + tm[1].str()});
  EXPECT_EQ(st.status, 0) << st.output;
  EXPECT_NE(st.output.find("facility 1312345678"), std::string::npos) << st.output;
  EXPECT_NE(st.output.find("documents in memory: 0.0 of 512 MiB, 0 refused since start"), std::string::npos)
      << st.output;
}

// Tokens kept in a file of their own: hiegatectl appends one, the daemon
// takes it at start, and a token added later at the next reload.
TEST(Hiegatectl, TokenNewAppendsToTheTokensFileTheDaemonReadsAtEveryReload) {
  Gateway gw;
  const auto file = gw.dir() / "local-api-tokens";
  auto make = [&](const std::string& name) {
    auto r = run({binary("hiegatectl").string(), "token", "new", "--name", name, "--file", file.string()});
    EXPECT_EQ(r.status, 0) << r.output;
    std::smatch tm;
    EXPECT_TRUE(std::regex_search(r.output, tm, std::regex("token: (hgt_[A-Za-z0-9_-]{43})"))) << r.output;
    return tm[1].str();
  };
  const std::string first = make("ehr");
  using P = std::filesystem::perms;  // 0640 less the umask
  EXPECT_EQ(std::filesystem::status(file).permissions() & (P::group_write | P::others_all | P::owner_exec), P::none);
  gw.write_config(gw.config_text("tokens_file = \"" + file.string() + "\"\n"));
  gw.start();
  auto with = [&](const std::string& token) {
    return http_request(gw.tcp(), "GET", "/v1/status", {{"Authorization", "Bearer " + token}}).status;
  };
  EXPECT_EQ(with(first), 200);
  const std::string second = make("console");
  EXPECT_EQ(with(second), 401);  // not before the reload
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return with(second) == 200; }));
  EXPECT_EQ(with(first), 200);
  EXPECT_EQ(with(kToken), 200);  // the config's own token still counts

  // A file others may write is refused by both: the reload keeps the tokens in force.
  std::filesystem::permissions(file, std::filesystem::perms::group_write, std::filesystem::perm_options::add);
  EXPECT_EQ(run({binary("hiegatectl").string(), "token", "new", "--file", file.string()}).status, 1);
  gw.process().signal(SIGHUP);
  ASSERT_TRUE(wait_for_line(gw.dir() / "hiegated.log", "config_rejected"));
  EXPECT_NE(gw.log().find("writable by group or others"), std::string::npos) << gw.log();
  EXPECT_EQ(with(second), 200);
}

}  // namespace
}  // namespace hiegate::test
