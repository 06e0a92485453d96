// A test suite over a dev PKI of three facilities (hiegate-secretariat pki
// dev-network), made once per suite, and the [tls] / [peer_api] / [[peers]]
// configuration that joins a gateway to it on loopback.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "integration/gateway.hpp"

namespace hiegate::test {

/// The facility codes the multi-gateway tests use: A asks, B holds.
inline constexpr const char* kA = "1300000001";
inline constexpr const char* kB = "1300000002";

class DevNetwork : public ::testing::Test {
protected:
  static constexpr const char* kFacilities[] = {"1300000001", "1300000002", "1300000003"};

  static void SetUpTestSuite() {
    pki_ = new TempDir();
    const auto r = run({binary("hiegate-secretariat").string(), "pki", "dev-network", "--facilities", "3",
                        "--network", "nishitama", "--out", (pki_->path() / "pki").string()});
    ASSERT_EQ(r.status, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete pki_;
    pki_ = nullptr;
  }

  /// `self`'s certificate and peer port, then every other facility as a peer
  /// (with its tunnel port when `tunnel_ports` names it); `peer_api_extra`
  /// lines go into [peer_api].
  static std::string tls_and_peers(const std::string& self, const std::map<std::string, std::uint16_t>& peer_ports,
                                   const std::map<std::string, std::uint16_t>& tunnel_ports = {},
                                   const std::string& peer_api_extra = "") {
    const auto dir = pki_->path() / "pki";
    std::string t = "[tls]\ncert = \"" + (dir / "facilities" / self / "cert.pem").string() + "\"\nkey = \"" +
                    (dir / "facilities" / self / "key.pem").string() + "\"\nca = \"" + (dir / "ca.crt").string() +
                    "\"\ncrl = \"" + (dir / "crl.pem").string() + "\"\nhandshake_timeout = \"2s\"\n" +
                    "[peer_api]\naddress = \"127.0.0.1\"\nport = " + std::to_string(peer_ports.at(self)) + "\n" +
                    peer_api_extra;
    for (const char* f : kFacilities) {
      if (self == f) continue;
      t += "[[peers]]\nfacility = \"" + std::string(f) + "\"\nhost = \"127.0.0.1\"\nport = " +
           std::to_string(peer_ports.at(f)) + "\n";
      if (auto it = tunnel_ports.find(f); it != tunnel_ports.end()) {
        t += "tunnel_port = " + std::to_string(it->second) + "\n";
      }
    }
    return t;
  }

  inline static TempDir* pki_ = nullptr;
};

}  // namespace hiegate::test
