#include "hiegate/daemon/config.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.hpp"

namespace hiegate::daemon {
namespace {

constexpr std::string_view kMinimal = R"([network]
id = "nishitama"
facility = "1312345678"
)";

std::string with(std::string_view extra) { return std::string(kMinimal) + std::string(extra); }

ConfigLoad parse(std::string_view text) { return parse_config(text, "test.toml"); }

TEST(Config, MinimalGetsDefaults) {
  const auto r = parse(kMinimal);
  ASSERT_TRUE(r.ok()) << r.report();
  const Config& c = *r.config;
  EXPECT_EQ(c.network.id, "nishitama");
  EXPECT_EQ(c.network.facility, "1312345678");
  EXPECT_EQ(c.daemon.threads, 2U);
  ASSERT_EQ(c.local_api.listen.size(), 1U);
  EXPECT_EQ(c.local_api.listen[0].to_string(), "127.0.0.1:8470");
  EXPECT_EQ(c.local_api.unix_socket, "/run/hiegate/local.sock");
  EXPECT_EQ(c.local_api.unix_socket_mode, 0660U);
  EXPECT_EQ(c.daemon.document_memory_bytes, 512ULL << 20);
  EXPECT_EQ(c.store.cache_max_document_bytes, 16ULL << 20);
  EXPECT_EQ(c.digest.size(), 64U);
}

TEST(Config, FullLocalApiSection) {
  const auto r = parse(with(R"(
[daemon]
threads = 4
drain_timeout = "2s"
log_level = "debug"
state_dir = "/tmp/x"
[local_api]
listen = ["127.0.0.1:0", "[::1]:9000"]
unix_socket = ""
unix_socket_mode = "0600"
max_header_bytes = 2048
max_body_bytes = 4096
max_document_bytes = 2097152
request_timeout = "500ms"
idle_timeout = "1m"
max_connections = 10
[[local_api.tokens]]
name = "ehr"
hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
)"));
  ASSERT_TRUE(r.ok()) << r.report();
  const Config& c = *r.config;
  EXPECT_EQ(c.daemon.threads, 4U);
  EXPECT_EQ(c.daemon.drain_timeout, Millis(2000));
  EXPECT_EQ(c.daemon.log_level, Level::debug);
  ASSERT_EQ(c.local_api.listen.size(), 2U);
  EXPECT_EQ(c.local_api.listen[1].to_string(), "[::1]:9000");
  EXPECT_TRUE(c.local_api.unix_socket.empty());
  EXPECT_EQ(c.local_api.max_document_bytes, 2097152U);
  EXPECT_EQ(c.local_api.request_timeout, Millis(500));
  EXPECT_EQ(c.local_api.idle_timeout, Millis(60000));
  ASSERT_EQ(c.local_api.tokens.size(), 1U);
  EXPECT_EQ(c.local_api.tokens[0].name, "ehr");
  EXPECT_EQ(c.local_api.tokens[0].sha256[0], 0xba);
}

// Tokens may also live in a file of their own ([local_api] tokens_file):
// "NAME sha256:HEX" per line, read with the config, refused when others
// could write it (they could let any client in).
TEST(Config, TokensFromAFile) {
  test::TempDir dir;
  const auto file = dir / "tokens";
  const std::string hash = "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
  const auto config = with("[local_api]\ntokens_file = \"" + file.string() + "\"\n[[local_api.tokens]]\nname = \"a\"\nhash = \"" +
                           hash + "\"\n");
  auto write = [&](const std::string& text, std::filesystem::perms mode) {
    std::ofstream(file, std::ios::trunc) << text;
    std::filesystem::permissions(file, mode);
  };
  using P = std::filesystem::perms;
  write("# clients of the local API\n\nehr " + hash + "\n  console   " + hash + "  # the admin console\n",
        P::owner_read | P::owner_write | P::group_read);
  auto r = parse(config);
  ASSERT_TRUE(r.ok()) << r.report();
  ASSERT_EQ(r.config->local_api.tokens.size(), 3U);
  EXPECT_EQ(r.config->local_api.tokens[1].name, "ehr");
  EXPECT_EQ(r.config->local_api.tokens[2].name, "console");
  EXPECT_EQ(r.config->local_api.tokens[2].sha256[31], 0xad);

  write("ehr " + hash + "\nbroken sha256:abc\nlonely\n", P::owner_read | P::owner_write);
  r = parse(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.report().find(file.string() + ":2: the hash must be"), std::string::npos) << r.report();
  EXPECT_NE(r.report().find(file.string() + ":3: must be NAME sha256:HEX"), std::string::npos) << r.report();

  write("ehr " + hash + "\n", P::owner_read | P::owner_write | P::group_read | P::group_write);
  r = parse(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.report().find("writable by group or others"), std::string::npos) << r.report();

  std::filesystem::remove(file);
  r = parse(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.report().find("local_api.tokens_file: cannot read"), std::string::npos) << r.report();
}

struct BadCase {
  const char* name;
  std::string text;
  const char* expect;  // substring of the report
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class ConfigBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ConfigBad, IsRejectedWithPlaceAndKey) {
  const auto r = parse(GetParam().text);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.report().find(GetParam().expect), std::string::npos) << r.report();
}

INSTANTIATE_TEST_SUITE_P(
    Cases, ConfigBad,
    ::testing::Values(
        BadCase{"unknown_key", with("[daemon]\nthreds = 2\n"),
                "test.toml:5:10: daemon.threds: unknown key"},
        BadCase{"unknown_table", with("[deamon]\nthreads = 2\n"), "deamon: unknown key"},
        BadCase{"wrong_type", with("[daemon]\nthreads = \"two\"\n"),
                "test.toml:5:11: daemon.threads: must be an integer, not a string"},
        BadCase{"port_range", with("[local_api]\nlisten = [\"127.0.0.1:70000\"]\n"),
                "test.toml:5:11: local_api.listen[0]: port must be between 0 and 65535"},
        BadCase{"not_loopback", with("[local_api]\nlisten = [\"0.0.0.0:8470\"]\n"),
                "local_api.listen[0]: \"0.0.0.0\" is not a loopback address"},
        BadCase{"not_loopback6", with("[local_api]\nlisten = [\"[::]:8470\"]\n"),
                "is not a loopback address"},
        BadCase{"hostname", with("[local_api]\nlisten = [\"localhost:8470\"]\n"),
                "is not an IP address"},
        BadCase{"threads_zero", with("[daemon]\nthreads = 0\n"), "must be between 1 and 64"},
        BadCase{"peer_connections_zero", with("[peer_api]\nconnections_per_peer = 0\n"),
                "peer_api.connections_per_peer: must be between 1 and 1024"},
        BadCase{"negative", with("[local_api]\nmax_connections = -5\n"), "not -5"},
        BadCase{"rate_negative", with("[peer_api]\nrequests_per_second_per_facility = -1.5\n"),
                "peer_api.requests_per_second_per_facility: must be between 0 and 10000000, not -1.5"},
        BadCase{"rate_string", with("[peer_api]\nrequests_per_second_per_facility = \"fast\"\n"),
                "peer_api.requests_per_second_per_facility: must be a number, not a string"},
        BadCase{"rate_nan", with("[peer_api]\nrequests_per_second_per_facility = nan\n"), "not nan"},
        BadCase{"burst_zero", with("[peer_api]\nrequest_burst_per_facility = 0\n"),
                "peer_api.request_burst_per_facility: must be between 1 and 10000000"},
        BadCase{"bad_duration", with("[local_api]\nidle_timeout = \"10 minutes\"\n"),
                "local_api.idle_timeout: must be a duration string"},
        BadCase{"duration_number", with("[local_api]\nidle_timeout = 10\n"), "must be a duration"},
        BadCase{"bad_level", with("[daemon]\nlog_level = \"loud\"\n"), "daemon.log_level: must be one of"},
        BadCase{"memory_below_body",
                with("[daemon]\ndocument_memory_bytes = 8388608\n[local_api]\nmax_body_bytes = 16777216\n"),
                "test.toml:5:25: daemon.document_memory_bytes: must be at least local_api.max_body_bytes (16777216)"},
        BadCase{"document_tiny", with("[local_api]\nmax_document_bytes = 1000\n"),
                "local_api.max_document_bytes: must be between 1024 and"},
        BadCase{"memory_tiny", with("[daemon]\ndocument_memory_bytes = 1000\n"),
                "daemon.document_memory_bytes: must be between 1048576 and"},
        BadCase{"cached_document_tiny", with("[store]\ncache_max_document_bytes = 1000\n"),
                "store.cache_max_document_bytes: must be between 262144 and"},
        BadCase{"relative_path", with("[daemon]\nstate_dir = \"var/lib\"\n"), "must be an absolute path"},
        BadCase{"mode_others", with("[local_api]\nunix_socket_mode = \"0666\"\n"),
                "must not grant access to others"},
        BadCase{"mode_format", with("[local_api]\nunix_socket_mode = 432\n"), "must be a string"},
        BadCase{"token_hash", with("[[local_api.tokens]]\nname = \"ehr\"\nhash = \"abc\"\n"),
                "local_api.tokens[0].hash: must be \"sha256:\" followed by 64 hex digits"},
        BadCase{"token_missing_name",
                with("[[local_api.tokens]]\nhash = \"sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"\n"),
                "local_api.tokens[0].name: is required"},
        BadCase{"facility_code", "[network]\nid = \"nishitama\"\nfacility = \"12345\"\n",
                "test.toml:3:12: network.facility: must be a 10-digit"},
        BadCase{"network_missing", "[daemon]\nthreads = 1\n", "the [network] table is required"},
        BadCase{"network_not_table", "network = 5\n", "network: must be a table"},
        BadCase{"syntax", "[network\nid=1\n", "test.toml:1:"},
        BadCase{"empty", "", "the file is empty"},
        BadCase{"not_utf8", with("[daemon]\nlog_level = \"\xff\xfe\"\n"), "test.toml:5:"},
        BadCase{"drain_past_stop_timeout", with("[daemon]\ndrain_timeout = \"26s\"\n"),
                "daemon.drain_timeout: must be"},
        BadCase{"pull_without_tls", with("[directives]\npull_url = \"https://192.0.2.1:8472/peer/v1/orders\"\n"),
                "directives.pull_url: needs the [tls] credentials"},
        BadCase{"crl_url_without_tls", with("[tls]\ncrl_url = \"https://192.0.2.1:8472/peer/v1/crl\"\n"),
                "tls.crl_url: needs the [tls] credentials"}),
    [](const ::testing::TestParamInfo<BadCase>& c) { return std::string(c.param.name); });

TEST(Config, ReportsEveryProblemNotJustTheFirst) {
  const auto r = parse(with("[daemon]\nthreads = 0\nbogus = 1\n[local_api]\nmax_connections = 0\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.issues.size(), 3U) << r.report();
}

TEST(Config, UnreadableAndMissingFiles) {
  test::TempDir dir;
  auto missing = load_config(dir / "nope.toml");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.report().find("cannot read the file"), std::string::npos);

  auto d = load_config(dir.path());
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.report().find("is not a regular file"), std::string::npos);

  const auto p = dir.write("locked.toml", kMinimal, 0000);
  if (::geteuid() != 0) {  // root reads regardless of mode
    auto r = load_config(p);
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.report().find("Permission denied"), std::string::npos) << r.report();
  }
  const auto good = dir.write("good.toml", kMinimal);
  EXPECT_TRUE(load_config(good).ok());
  // Whoever may write the config may let a client in: owner-writable only.
  for (const unsigned mode : {0664U, 0646U}) {
    const auto open = dir.write("open.toml", kMinimal, mode);
    ::chmod(open.c_str(), mode);  // whatever the umask
    auto r = load_config(open);
    ASSERT_FALSE(r.ok()) << mode;
    EXPECT_NE(r.report().find("is writable by group or others"), std::string::npos) << r.report();
  }
}

TEST(Config, DurationParser) {
  Millis m{};
  EXPECT_TRUE(parse_duration("500ms", m));
  EXPECT_EQ(m, Millis(500));
  EXPECT_TRUE(parse_duration("7d", m));
  EXPECT_EQ(m, Millis(7LL * 86'400'000));
  for (const char* bad : {"", "s", "5", "-5s", "5 s", "5sec", "1.5h", "99999999999999999999d"}) {
    EXPECT_FALSE(parse_duration(bad, m)) << bad;
  }
}

}  // namespace
}  // namespace hiegate::daemon

namespace hiegate::daemon {
namespace {

// The annotated file shipped as /etc/hiegate/hiegate.toml is valid once the
// facility fills in [network], and only then.
TEST(Config, ShippedExampleIsValidOnceNetworkIsSet) {
  const std::string shipped =
      test::read_file(std::filesystem::path(HIEGATE_TEST_DATA_DIR) / ".." / "etc" / "hiegate.toml");
  const auto as_shipped = parse_config(shipped, "hiegate.toml");
  ASSERT_FALSE(as_shipped.ok());
  EXPECT_NE(as_shipped.report().find("network.id: is required"), std::string::npos);
  std::string filled = shipped;
  filled.replace(filled.find("#id = "), 6, "id = ");
  filled.replace(filled.find("#facility = "), 12, "facility = ");
  const auto r = parse_config(filled, "hiegate.toml");
  ASSERT_TRUE(r.ok()) << r.report();
  // The shipped values are the defaults.
  const Config defaults;
  EXPECT_EQ(r.config->daemon.threads, defaults.daemon.threads);
  EXPECT_EQ(r.config->daemon.drain_timeout, defaults.daemon.drain_timeout);
  EXPECT_EQ(r.config->local_api.max_body_bytes, defaults.local_api.max_body_bytes);
  EXPECT_EQ(r.config->local_api.request_timeout, defaults.local_api.request_timeout);
  EXPECT_EQ(r.config->local_api.idle_timeout, defaults.local_api.idle_timeout);
  EXPECT_EQ(r.config->local_api.max_connections, defaults.local_api.max_connections);
  EXPECT_EQ(r.config->local_api.unix_socket, defaults.local_api.unix_socket);
  EXPECT_TRUE(r.config->audit == defaults.audit);
}

TEST(Config, AuditSection) {
  const auto r = parse_config(std::string(kMinimal) + R"(
[audit]
checkpoint_every = 50
checkpoint_interval = "30s"
group_max_records = 64
group_max_wait = "2ms"
retention = "3650d"
syslog = "tls://collector.example:6514"
syslog_ca = "/etc/hiegate/syslog-ca.pem"
syslog_backlog = 500
)", "t.toml");
  ASSERT_TRUE(r.ok()) << r.report();
  const auto& a = r.config->audit;
  EXPECT_EQ(a.checkpoint_every, 50u);
  EXPECT_EQ(a.checkpoint_interval, Millis(30'000));
  EXPECT_EQ(a.group_max_records, 64u);
  EXPECT_EQ(a.group_max_wait, Millis(2));
  EXPECT_EQ(a.retention, Millis(3650LL * 86'400'000));
  EXPECT_EQ(a.syslog_backlog, 500u);
  const auto t = parse_syslog_target(a.syslog);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->tls_host, "collector.example");
  EXPECT_EQ(t->tls_port, 6514);
  EXPECT_EQ(parse_syslog_target("unix:/dev/log")->unix_path, "/dev/log");
  EXPECT_EQ(parse_syslog_target("tls://[::1]:6514")->tls_host, "::1");
  EXPECT_FALSE(parse_syslog_target("tls://host"));
  EXPECT_FALSE(parse_syslog_target("tls://host:0"));
  EXPECT_FALSE(parse_syslog_target("unix:relative"));
  EXPECT_FALSE(parse_syslog_target("udp://host:514"));

  auto bad = [](const std::string& extra) {
    return parse_config(std::string(kMinimal) + "[audit]\n" + extra, "t.toml").report();
  };
  EXPECT_NE(bad("syslog = \"tls://c.example:6514\"\n").find("audit.syslog_ca: is required"), std::string::npos);
  EXPECT_NE(bad("syslog = \"udp://c:514\"\n").find("audit.syslog: must be"), std::string::npos);
  EXPECT_NE(bad("checkpoint_every = 0\n").find("audit.checkpoint_every"), std::string::npos);
  EXPECT_NE(bad("retention = \"1h\"\n").find("audit.retention"), std::string::npos);
  EXPECT_NE(bad("group_max_wait = \"1s\"\n").find("audit.group_max_wait"), std::string::npos);
  EXPECT_NE(bad("nonsense = 1\n").find("audit.nonsense"), std::string::npos);
}

}  // namespace
}  // namespace hiegate::daemon

namespace hiegate::daemon {
namespace {

TEST(Config, NetworkSections) {
  const auto r = parse_config(std::string(kMinimal) + R"(
[store]
master_key = "/etc/hiegate/master-key"
cache_ttl = "1h"
[tls]
cert = "/etc/hiegate/tls/cert.pem"
key = "/etc/hiegate/tls/key.pem"
ca = "/etc/hiegate/tls/ca.pem"
crl = "/etc/hiegate/tls/crl.pem"
crl_grace = "1d"
[peer_api]
address = "127.0.0.1"
port = 18471
fetch_timeout = "2s"
connections_per_peer = 8
max_connections_per_facility = 16
max_handshakes_per_address = 0
requests_per_second_per_facility = 2.5
request_burst_per_facility = 10
[[peers]]
facility = "1319999999"
host = "127.0.0.1"
port = 18472
name = "Tama Clinic"
[directives]
keyset = "/etc/hiegate/keyset.json"
stale_mode = "stop"
[policy]
view_roles = ["physician"]
[policy.emergency]
roles = ["physician"]
document_types = ["allergy"]
window = "12h"
)", "t.toml");
  ASSERT_TRUE(r.ok()) << r.report();
  const Config& c = *r.config;
  EXPECT_TRUE(c.tls.enabled());
  EXPECT_EQ(c.tls.crl_grace, Millis(86'400'000));
  EXPECT_EQ(c.peer_api.port, 18471);
  EXPECT_EQ(c.peer_api.fetch_timeout, Millis(2000));
  EXPECT_EQ(c.peer_api.connections_per_peer, 8U);
  EXPECT_EQ(c.peer_api.max_connections_per_facility, 16U);
  EXPECT_EQ(c.peer_api.max_handshakes_per_address, 0U);  // no limit
  EXPECT_DOUBLE_EQ(c.peer_api.requests_per_second_per_facility, 2.5);
  EXPECT_EQ(c.peer_api.request_burst_per_facility, 10U);
  ASSERT_EQ(c.peers.size(), 1U);
  EXPECT_EQ(c.peers[0].name, "Tama Clinic");
  EXPECT_EQ(c.directives.stale_mode, "stop");
  EXPECT_EQ(c.policy.view_roles, std::vector<std::string>{"physician"});
  EXPECT_EQ(c.policy.emergency.window, Millis(12LL * 3'600'000));
  EXPECT_EQ(c.policy.disaster.document_types, std::vector<std::string>{"*"});  // default kept
}

TEST(Config, NetworkSectionErrors) {
  auto bad = [](const std::string& extra) {
    return parse_config(std::string(kMinimal) + extra, "t.toml").report();
  };
  EXPECT_NE(bad("[tls]\ncert = \"/c.pem\"\n").find("key, ca and crl are required"), std::string::npos);
  EXPECT_NE(bad("[[peers]]\nfacility = \"1312345678\"\nhost = \"x\"\n").find("own facility"),
            std::string::npos);
  EXPECT_NE(bad("[[peers]]\nfacility = \"1319999999\"\nhost = \"x\"\n[[peers]]\nfacility = \"1319999999\"\nhost = \"y\"\n")
                .find("peers[1].facility: is listed twice"),
            std::string::npos);
  EXPECT_NE(bad("[[peers]]\nfacility = \"1319999999\"\n").find("peers[0].host: is required"),
            std::string::npos);
  EXPECT_NE(bad("[directives]\nstale_mode = \"panic\"\n").find("must be emergency_only, stop or keep"),
            std::string::npos);
  EXPECT_NE(bad("[policy]\nview_roles = [\"doctor\"]\n").find("policy.view_roles[0]: \"doctor\" is not a role"),
            std::string::npos);
  EXPECT_NE(bad("[policy.emergency]\nwindow = \"1s\"\n").find("policy.emergency.window"), std::string::npos);
  EXPECT_NE(bad("[peer_api]\naddress = \"example.org\"\n").find("must be an IP address"), std::string::npos);
  EXPECT_NE(bad("[directives]\npull_url = \"http://x\"\n").find("https://"), std::string::npos);
}

}  // namespace
}  // namespace hiegate::daemon
