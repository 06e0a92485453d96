// Options shared by the storage commands (keygen, store, backup, restore).
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "hiegate/crypto/keys.hpp"

namespace hiegate::ctl {

inline constexpr const char* kDefaultStateDir = "/var/lib/hiegate";
inline constexpr const char* kDefaultKeyFile = "/etc/hiegate/master-key";

/// Parses `--name VALUE` pairs and bare `--flag`s from argv[first..]. Unknown
/// options or a missing value yield nullopt after printing why.
inline std::optional<std::map<std::string, std::string>> parse_options(int argc, char** argv, int first,
                                                                       const std::set<std::string>& with_value,
                                                                       const std::set<std::string>& flags) {
  std::map<std::string, std::string> out;
  for (int i = first; i < argc; ++i) {
    const std::string a = argv[i];
    if (flags.count(a) != 0) {
      out[a] = "1";
    } else if (with_value.count(a) != 0 && i + 1 < argc) {
      out[a] = argv[++i];
    } else {
      if (a != "--help") std::fprintf(stderr, "%s: unknown option or missing value: %s\n", argv[0], a.c_str());
      return std::nullopt;
    }
  }
  return out;
}

inline std::string option(const std::map<std::string, std::string>& o, const std::string& k, std::string fallback) {
  auto it = o.find(k);
  return it == o.end() ? fallback : it->second;
}

/// Loads the key ring ($CREDENTIALS_DIRECTORY or --key), printing the error.
inline std::shared_ptr<const crypto::KeyRing> load_keys(const std::map<std::string, std::string>& o) {
  // Run as root, the key the service user owns is read (its mode checked).
  auto ring = crypto::KeyRing::load(option(o, "--key", kDefaultKeyFile), /*root_reads_any=*/true);
  if (!ring) {
    std::fprintf(stderr, "error: %s\n", ring.error().message.c_str());
    return nullptr;
  }
  return std::make_shared<const crypto::KeyRing>(std::move(ring).value());
}

inline int fail(const Error& e) {
  std::fprintf(stderr, "error (%s): %s\n", e.code.c_str(), e.message.c_str());
  return 1;
}

}  // namespace hiegate::ctl
