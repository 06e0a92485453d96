#include "hiegatectl/config_cmds.hpp"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "hiegate/crypto/encoding.hpp"
#include "hiegate/crypto/primitives.hpp"
#include "hiegate/daemon/config.hpp"
#include "hiegatectl/local_client.hpp"

namespace hiegate::tools {

int check_config_main(int argc, char** argv) {
  Args args(argc, argv, {}, {"help", "quiet"});
  if (!args.ok() || args.positional().size() > 1 || args.flag("help")) {
    std::cerr << (args.ok() ? "" : "hiegatectl: " + args.error() + "\n")
              << "usage: hiegatectl check-config [--quiet] [FILE]\n"
                 "  Checks FILE (default " << daemon::kDefaultConfigPath
              << ") and prints every problem as FILE:LINE:COLUMN: KEY: MESSAGE.\n"
                 "  Exits 0 when the file is valid, 1 otherwise.\n";
    return args.flag("help") ? 0 : 2;
  }
  const std::string path =
      args.positional().empty() ? daemon::kDefaultConfigPath : args.positional()[0];
  const daemon::ConfigLoad load = daemon::load_config(path);
  if (!load.ok()) {
    std::cerr << load.report();
    return 1;
  }
  if (!args.flag("quiet")) {
    std::cout << path << ": OK (facility " << load.config->network.facility << ", network "
              << load.config->network.id << ", "
              << load.config->local_api.tokens.size() << " API token(s))\n";
  }
  return 0;
}

namespace {

/// Appends "NAME sha256:HEX" to the tokens file (created 0640). Refuses a
/// file others could write: the daemon would refuse it too.
bool append_token_line(const std::string& file, const std::string& line) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    std::cerr << "hiegatectl: cannot open " << file << ": " << std::strerror(errno) << "\n";
    return false;
  }
  struct stat st {};
  bool ok = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
  if (ok && (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    std::cerr << "hiegatectl: " << file << " is writable by group or others; chmod 0640 it first\n";
    ok = false;
  } else if (ok) {
    ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && ::fsync(fd) == 0;
    if (!ok) std::cerr << "hiegatectl: cannot write " << file << ": " << std::strerror(errno) << "\n";
  }
  ::close(fd);
  return ok;
}

}  // namespace

int token_main(int argc, char** argv) {
  Args args(argc, argv, {"name", "file"}, {"help"});
  if (!args.ok() || args.positional().size() != 1 || args.positional()[0] != "new" ||
      args.flag("help")) {
    std::cerr << (args.ok() ? "" : "hiegatectl: " + args.error() + "\n")
              << "usage: hiegatectl token new [--name NAME] [--file FILE]\n"
                 "  Makes a new random bearer token for the local API. Prints the token\n"
                 "  (give it to the EHR; it is not stored anywhere) and the config lines\n"
                 "  holding only its SHA-256 hash, for /etc/hiegate/hiegate.toml; with\n"
                 "  --file, appends \"NAME sha256:HASH\" to FILE instead, the file that\n"
                 "  [local_api] tokens_file names.\n";
    return args.flag("help") ? 0 : 2;
  }
  if (!crypto::init()) {
    std::cerr << "hiegatectl: cannot initialise the random number generator\n";
    return 1;
  }
  const std::string name = args.get("name").value_or("ehr");
  const bool plain = std::all_of(name.begin(), name.end(), [](unsigned char c) { return c > ' ' && c != '"'; });
  if (name.empty() || name.size() > 64 || !plain) {
    std::cerr << "hiegatectl: --name must be 1 to 64 characters without spaces or quotes\n";
    return 2;
  }
  const crypto::Bytes raw = crypto::random_bytes(32);
  std::string b64(sodium_base64_ENCODED_LEN(raw.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING), '\0');
  sodium_bin2base64(b64.data(), b64.size(), raw.data(), raw.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  b64.resize(b64.size() - 1);
  const std::string token = "hgt_" + b64;
  const std::string hash = "sha256:" + crypto::to_hex(crypto::sha256(token));
  if (const auto file = args.get("file")) {
    if (!append_token_line(*file, name + " " + hash + "\n")) return 1;
    std::cout << "token: " << token << "\n\n"
              << "# Added to " << *file << " ([local_api] tokens_file); then: systemctl reload hiegate\n";
    return 0;
  }
  std::cout << "token: " << token << "\n\n"
            << "# Add to /etc/hiegate/hiegate.toml, then: systemctl reload hiegate\n"
            << "[[local_api.tokens]]\n"
            << "name = \"" << name << "\"\n"
            << "hash = \"" << hash << "\"\n";
  return 0;
}

int status_main(int argc, char** argv) {
  Args args(argc, argv, {"socket", "token-file"}, {"help", "json"});
  if (!args.ok() || !args.positional().empty() || args.flag("help")) {
    std::cerr << (args.ok() ? "" : "hiegatectl: " + args.error() + "\n")
              << "usage: hiegatectl status [--socket PATH] [--token-file FILE] [--json]\n"
                 "  Shows the running gateway's status. The token is read from --token-file\n"
                 "  or the HIEGATE_TOKEN environment variable.\n";
    return args.flag("help") ? 0 : 2;
  }
  LocalClient client(args.get("socket").value_or("/run/hiegate/local.sock"));
  auto token = read_token(args.get("token-file"));
  if (!token) {
    std::cerr << "hiegatectl: " << token.error().message << "\n";
    return 1;
  }
  auto res = client.request("GET", "/v1/status", *token);
  if (!res) {
    std::cerr << "hiegatectl: " << res.error().message << "\n";
    return 1;
  }
  if (res->status != 200) {
    std::cerr << "hiegatectl: the gateway answered " << res->status << ": " << res->body << "\n";
    return 1;
  }
  if (args.flag("json")) {
    std::cout << res->body;
    return 0;
  }
  const auto j = nlohmann::json::parse(res->body, nullptr, false);
  if (j.is_discarded()) {
    std::cout << res->body;
    return 0;
  }
  std::cout << "hiegated " << j.value("version", "?") << ", facility " << j.value("facility", "?")
            << " in network " << j.value("network", "?") << "\n"
            << "uptime: " << j.value("uptime_seconds", 0) << " s\n"
            << "mode: " << j["mode"].dump() << "\n"
            << "config: " << j["config"].value("path", "?") << " (sha256 "
            << j["config"].value("digest", "").substr(0, 16) << ")\n";
  if (j.contains("memory") && j["memory"].is_object()) {
    const auto& m = j["memory"];
    constexpr double kMiB = 1024.0 * 1024.0;
    char line[160];
    std::snprintf(line, sizeof line, "documents in memory: %.1f of %.0f MiB, %llu refused since start\n",
                  static_cast<double>(m.value("document_bytes", std::uint64_t{0})) / kMiB,
                  static_cast<double>(m.value("limit_bytes", std::uint64_t{0})) / kMiB,
                  static_cast<unsigned long long>(m.value("refused", std::uint64_t{0})));
    std::cout << line;
  }
  return 0;
}

}  // namespace hiegate::tools
